"""The pickup form's rules: PIN of 8+ printable ASCII characters, confirmed; a format chosen."""

from __future__ import annotations

from app.issuance.form import check_pickup


def test_a_good_pin_and_format_pass() -> None:
    choice, errors, _kept = check_pickup(
        {"pin": "Abc-1234", "pin_confirm": "Abc-1234", "format": "compatible"}
    )
    assert errors == {} and choice is not None
    assert (choice.pin, choice.format) == ("Abc-1234", "compatible")


def test_each_mistake_has_its_japanese_message_next_to_its_field() -> None:
    _c, errors, kept = check_pickup({"pin": "", "pin_confirm": "", "format": "zip"})
    assert errors["pin"] == "PINを入力してください。"
    assert errors["format"] == "ファイルの形式を選択してください。"
    assert kept == {"format": "zip"}  # never the PINs
    _c, errors, _k = check_pickup({"pin": "1234567", "pin_confirm": "1234567"})
    assert errors["pin"] == "PINは8文字以上で入力してください。"
    _c, errors, _k = check_pickup(
        {"pin": "ピンコード１２３４", "pin_confirm": "ピンコード１２３４"}
    )
    assert "半角" in errors["pin"]
    _c, errors, _k = check_pickup({"pin": "12345678", "pin_confirm": "", "format": "standard"})
    assert list(errors) == ["pin_confirm"] and "もう一度" in errors["pin_confirm"]
    _c, errors, _k = check_pickup(
        {"pin": "12345678", "pin_confirm": "12345679", "format": "standard"}
    )
    assert errors == {"pin_confirm": "PINが一致しません。同じPINを入力してください。"}
