"""Image and audio CAPTCHA challenges."""
