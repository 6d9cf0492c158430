"""A training script importing the model with an absolute import of its package."""
from project.model import build_model

model = build_model()
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.summary()
