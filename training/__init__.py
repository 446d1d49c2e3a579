"""Training-side code: datasets, training, evaluation, reports, imports. Imports the core, never the reverse."""
