"""The report: per-chapter summaries (`summary`), provenance (`provenance`), HTML/PDF (`render`)."""
