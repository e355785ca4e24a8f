"""Architecture patterns: Lambda, Kappa and Medallion."""
