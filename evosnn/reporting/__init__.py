"""What a finished search hands on: exported architectures, figures and the report."""
