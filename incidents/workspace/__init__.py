"""The incident workspace (issue 20): tasks, status updates, the post-incident review."""
