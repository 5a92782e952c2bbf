"""The principal's approval (申請情報承認) of an agent's application: link, review, decision."""
