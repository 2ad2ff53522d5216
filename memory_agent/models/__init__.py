"""Chat models, the offline demo model, embeddings, and the sentences for model errors."""
