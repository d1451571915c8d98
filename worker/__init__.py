"""The mock engine: one process serves one Mockoon environment, behaving like Mockoon CLI."""
