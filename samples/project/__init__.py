"""A small project: the model is assembled from blocks defined in sibling modules."""
