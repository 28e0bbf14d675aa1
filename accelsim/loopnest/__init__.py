"""General loop-nest mappings: representation, systolic instances, evaluation and search."""
