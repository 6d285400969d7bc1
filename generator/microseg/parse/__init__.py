"""Turn raw inputs (CSV rows, TOML tables) into validated model objects, collecting every problem."""
