"""The shared core: normalisation, language id, features, the model and the Classifier wrapper.

Imports no web framework and never imports ``training``; both the API and training build on it.
"""
