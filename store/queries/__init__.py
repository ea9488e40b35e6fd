"""Read use cases returning frozen records and pages; they never write."""
