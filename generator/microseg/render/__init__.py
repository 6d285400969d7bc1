"""Plan -> output documents (tfvars, lock, reports, diagram source). Pure: strings and dicts only."""
