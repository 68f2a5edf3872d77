"""Linking chat accounts (Telegram users) to customers: one-time codes and shared phone numbers."""
