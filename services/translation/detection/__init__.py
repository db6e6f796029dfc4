"""English/French language detection of customer messages: cleaning, then the detector."""
