"""Settings shared by the project's modules."""
IMAGE_SIZE = 64
CHANNELS = 3
WIDTHS = [16, 32, 64]
NUM_CLASSES = 5
