"""The ledger (an Optuna study in SQL, the single record of a search) and the driver lock."""
