"""Settlement workflow: statements from imported data, review, sign-off, ledger, bundles, finance.

The platform side of issue 8, a thin shell over ``utfall.services`` (bindings,
bundles, finance): ``data`` exports a contract's imported records as the tables
the evaluation specs read, ``services`` runs the workflow (draft → review →
final, corrections), ``ledger`` keeps the hash chain in the database and
``keys`` the evaluators' Ed25519 keys.
"""
