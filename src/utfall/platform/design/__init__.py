"""The design stage in the platform: design figures of a draft contract's evaluations, the
power curve, and pre-registration in the ledger before outcome data are imported."""
