"""The report: markdown helpers, figures, the section registry, the report builder and the suite."""
