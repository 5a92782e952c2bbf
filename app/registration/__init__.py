"""The registration stage (申請登録): terms, step 1, confirm, complete, emailed link."""
