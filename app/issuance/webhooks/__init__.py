"""証明書を自動登録: signed webhook events announcing issued and revoked certificates."""
