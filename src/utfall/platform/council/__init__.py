"""The intervention council: dashboards per contract, council meetings and quarterly reports."""
