"""The terms of each loss and their default weights in its total.

Kept apart from the losses (which need torch) so that the method registry, the presets'
validation and the help texts can name the terms without loading torch.
"""

CLIPASSO_WEIGHTS = {"layer2": 1.0, "layer3": 1.0, "semantic": 0.1}
"""The reference code's weights (`models/loss.py: CLIPConvLoss`): RN101 `layer2` and `layer3`
feature MSE 1 each, the embedding's 1 - cos 0.1."""

XDOG_WEIGHTS = {"edges": 1.0}
"""The XDoG loss's one term: L2 to the photo's blurred XDoG edge drawing."""
