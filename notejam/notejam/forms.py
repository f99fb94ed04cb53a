"""Forms, with Notejam's field names. Flask-WTF adds a CSRF token to every one of them."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length

PASSWORD_RULES = [InputRequired(), Length(min=8, max=128, message="Use 8 to 128 characters.")]


def normalise_email(value):
    return value.strip().lower() if isinstance(value, str) else value


class SignupForm(FlaskForm):
    email = EmailField("Email", [DataRequired(), Email(), Length(max=254)], filters=[normalise_email])
    password = PasswordField("Password", PASSWORD_RULES)
    repeat_password = PasswordField(
        "Repeat password", [InputRequired(), EqualTo("password", message="Passwords do not match.")]
    )


class SigninForm(FlaskForm):
    email = EmailField("Email", [DataRequired(), Email(), Length(max=254)], filters=[normalise_email])
    password = PasswordField("Password", [InputRequired()])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", [DataRequired(), Email(), Length(max=254)], filters=[normalise_email])


class NewPasswordForm(FlaskForm):
    new_password = PasswordField("New password", PASSWORD_RULES)
    repeat_new_password = PasswordField(
        "Repeat new password",
        [InputRequired(), EqualTo("new_password", message="Passwords do not match.")],
    )


class SettingsForm(NewPasswordForm):
    old_password = PasswordField("Current password", [InputRequired()])


class PadForm(FlaskForm):
    name = StringField("Name", [DataRequired(), Length(max=100)], filters=[lambda v: v.strip() if v else v])


class NoteForm(FlaskForm):
    name = StringField("Name", [DataRequired(), Length(max=100)], filters=[lambda v: v.strip() if v else v])
    text = TextAreaField("Note", [DataRequired(), Length(max=65000)])
    # Choices are the signed-in user's pads (set by the view); "" is "no pad".
    pad = SelectField("Pad", choices=[SelectChoice("", "No pad")], validate_choice=True)


class ConfirmForm(FlaskForm):
    """A form with nothing but the CSRF token: sign-out and deletions."""
