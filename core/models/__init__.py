"""Models: the RCNN-LAM network, the scikit-learn-style estimators and checkpoints."""
