"""The quality context: major quality problems sent to the quality and product teams."""
