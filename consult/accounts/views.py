"""Account pages: registration, login, password, profile, personal data, deletion.

Each view is thin: permission → form → service → commit → redirect. Invalid forms are shown
again with a 422, refusals from the services with 409 or 422, never a 500.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from consult.accounts import forms, services
from consult.accounts.services import AccountError, ProfileData
from consult.db import commit, db
from consult.hooks import hooks
from consult.mail import send_mail
from consult.permissions import Permission, permission_required
from consult.security import email_key
from consult.web import (
    absolute_url,
    limit,
    safe_next,
    target_allowed,
    target_failed,
    target_succeeded,
)

bp = Blueprint("account", __name__, url_prefix="/compte")


LIMIT_MESSAGE = _l("Trop de tentatives. Réessayez dans quelques minutes.")


def _render(template: str, status: int = 200, **context: object) -> tuple[str, int]:
    return render_template(template, **context), status


def _form_status(form: forms.FlaskForm) -> int:
    return 422 if request.method == "POST" else 200


def _profile_data(form: forms.ProfileFieldsMixin) -> ProfileData:
    return ProfileData(
        pseudonym=form.pseudonym.data,
        audience=form.audience.data,
        academie_code=form.academie.data,
        departement_code=form.departement.data or None,
        school_level=form.school_level.data or None,
        other_actor_kind=form.other_actor_kind.data or None,
    )


def _start_session(user: object, remember: bool = False) -> None:
    # A fresh session on login prevents session fixation.
    session.clear()
    login_user(user, remember=remember, fresh=True)


@bp.route("/inscription", methods=["GET", "POST"])
@limit("RATELIMIT_REGISTER", LIMIT_MESSAGE)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    form = forms.RegistrationForm()
    if form.validate_on_submit():
        try:
            user = services.register(
                db.session, _profile_data(form), form.email.data, form.password.data
            )
            commit()
        except AccountError as exc:
            db.session.rollback()
            getattr(form, exc.field or "email").errors.append(exc.message)
            return _render("account/register.html", 409, form=form)
        except IntegrityError:
            # Another registration with the same pseudonym or email won the race.
            form.email.errors.append(
                _(
                    "Ce pseudonyme ou cette adresse électronique vient d'être utilisé. "
                    "Choisissez-en un autre ou connectez-vous."
                )
            )
            return _render("account/register.html", 409, form=form)
        _start_session(user)
        flash(_("Bienvenue %(name)s, votre compte est créé.", name=user.pseudonym), "success")
        return redirect(url_for("account.index"))
    return _render("account/register.html", _form_status(form), form=form)


@bp.route("/connexion", methods=["GET", "POST"])
@limit("RATELIMIT_LOGIN", LIMIT_MESSAGE)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    form = forms.LoginForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        # Per account, from any address: 5 wrong passwords, then the account waits (the same
        # answer whether or not the address has an account, so nothing is revealed).
        account = email_key(form.email.data)
        if not target_allowed("RATELIMIT_LOGIN_ACCOUNT", "login", account):
            form.password.errors.append(
                _(
                    "Trop de tentatives de connexion pour ce compte. Réessayez dans un quart "
                    "d'heure, ou choisissez un nouveau mot de passe avec « Mot de passe oublié »."
                )
            )
            return _render("account/login.html", 429, form=form)
        user = services.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            target_failed("RATELIMIT_LOGIN_ACCOUNT", "login", account)
            form.password.errors.append(_("Adresse électronique ou mot de passe incorrect."))
            return _render("account/login.html", 422, form=form)
        target_succeeded("RATELIMIT_LOGIN_ACCOUNT", "login", account)
        commit()
        _start_session(user, remember=bool(form.remember.data))
        flash(_("Vous êtes connecté."), "success")
        return redirect(next_url or url_for("account.index"))
    return _render("account/login.html", _form_status(form), form=form)


@bp.route("/deconnexion", methods=["POST"])
def logout():
    form = forms.FlaskForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        logout_user()
        session.clear()
        flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("pages.home"))


@bp.route("/")
@permission_required(Permission.ACCOUNT_VIEW)
def index():
    from consult.territories import catalog

    return render_template(
        "account/index.html",
        cat=catalog(),
        user=current_user._get_current_object(),
        account_panels=hooks().account_panels,
    )


@bp.route("/profil", methods=["GET", "POST"])
@permission_required(Permission.ACCOUNT_EDIT)
def profile():
    user = current_user._get_current_object()
    form = forms.ProfileForm(
        data=None
        if request.method == "POST"
        else {
            "pseudonym": user.pseudonym,
            "audience": user.audience,
            "other_actor_kind": user.other_actor_kind or "",
            "school_level": user.school_level,
            "academie": user.academie_code,
            "departement": user.departement_code or "",
        }
    )
    if form.validate_on_submit():
        try:
            services.update_profile(db.session, user, _profile_data(form))
            commit()
        except AccountError as exc:
            db.session.rollback()
            getattr(form, exc.field or "pseudonym").errors.append(exc.message)
            return _render("account/profile.html", 409, form=form)
        except IntegrityError:
            form.pseudonym.errors.append(_("Ce pseudonyme est déjà pris. Choisissez-en un autre."))
            return _render("account/profile.html", 409, form=form)
        flash(_("Votre profil est enregistré."), "success")
        return redirect(url_for("account.index"))
    return _render("account/profile.html", _form_status(form), form=form)


@bp.route("/securite", methods=["GET", "POST"])
@permission_required(Permission.ACCOUNT_EDIT)
@limit("RATELIMIT_REAUTH", LIMIT_MESSAGE)
def security():
    user = current_user._get_current_object()
    password_form = forms.PasswordChangeForm(prefix="pw", user=user)
    email_form = forms.EmailChangeForm(prefix="em")
    status = 200
    if request.method == "POST":
        status = 422
        if "pw-submit" in request.form and password_form.validate_on_submit():
            if not services.check_password(user, password_form.current_password.data):
                password_form.current_password.errors.append(_("Mot de passe actuel incorrect."))
            else:
                services.set_password(db.session, user, password_form.password.data)
                commit()
                # The session identifier carries the version: renew it so this session stays.
                _start_session(user)
                flash(
                    _("Votre mot de passe est changé. Vos autres sessions sont fermées."), "success"
                )
                return redirect(url_for("account.index"))
        elif "em-submit" in request.form and email_form.validate_on_submit():
            if not services.check_password(user, email_form.current_password.data):
                email_form.current_password.errors.append(_("Mot de passe actuel incorrect."))
            else:
                try:
                    services.change_email(db.session, user, email_form.email.data)
                    commit()
                except (AccountError, IntegrityError) as exc:
                    db.session.rollback()
                    message = (
                        exc.message
                        if isinstance(exc, AccountError)
                        else _("Un compte existe déjà avec cette adresse électronique.")
                    )
                    email_form.email.errors.append(message)
                    return _render(
                        "account/security.html",
                        409,
                        password_form=password_form,
                        email_form=email_form,
                    )
                flash(_("Votre adresse électronique est changée."), "success")
                return redirect(url_for("account.index"))
    return _render(
        "account/security.html", status, password_form=password_form, email_form=email_form
    )


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limit("RATELIMIT_RESET", LIMIT_MESSAGE)
def forgot_password():
    form = forms.PasswordResetRequestForm()
    if form.validate_on_submit():
        user = services.user_for_reset_request(db.session, form.email.data)
        if user is not None and user.email:
            link = absolute_url("account.reset_password", token=services.make_reset_token(user))
            minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
            send_mail(
                user.email,
                _("Réinitialiser votre mot de passe"),
                render_template("account/mail/reset.txt", user=user, link=link, minutes=minutes),
            )
        # Same answer whether or not the address has an account.
        flash(
            _(
                "Si un compte existe avec cette adresse, un courriel vient d'être envoyé "
                "avec un lien valable une heure."
            ),
            "info",
        )
        return redirect(url_for("account.login"))
    return _render("account/forgot.html", _form_status(form), form=form)


@bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
@limit("RATELIMIT_RESET", LIMIT_MESSAGE)
def reset_password(token: str):
    user = services.user_from_reset_token(db.session, token)
    if user is None:
        return _render("account/reset_invalid.html", 400)
    form = forms.PasswordResetForm(user=user)
    if form.validate_on_submit():
        services.set_password(db.session, user, form.password.data)
        commit()
        # Proof of the mailbox: a guesser who locked the account no longer keeps its owner out.
        target_succeeded("RATELIMIT_LOGIN_ACCOUNT", "login", user.email_key)
        logout_user()
        flash(_("Votre mot de passe est changé. Vous pouvez vous connecter."), "success")
        return redirect(url_for("account.login"))
    return _render("account/reset.html", _form_status(form), form=form)


@bp.route("/mes-donnees", methods=["GET", "POST"])
@permission_required(Permission.ACCOUNT_VIEW)
@limit("RATELIMIT_REAUTH", LIMIT_MESSAGE)
def download_data():
    user = current_user._get_current_object()
    form = forms.ReauthForm()
    if form.validate_on_submit():
        if not services.check_password(user, form.current_password.data):
            form.current_password.errors.append(_("Mot de passe incorrect."))
            return _render("account/data.html", 422, form=form)
        payload = services.personal_data(db.session, user)
        body = json.dumps(payload, ensure_ascii=False, indent=2, default=str)
        response = Response(body, mimetype="application/json")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="consult-mes-donnees-{user.id}.json"'
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    summary = services.personal_data_summary(services.personal_data(db.session, user))
    return _render("account/data.html", _form_status(form), form=form, summary=summary)


@bp.route("/suppression", methods=["GET", "POST"])
@permission_required(Permission.ACCOUNT_EDIT)
@limit("RATELIMIT_REAUTH", LIMIT_MESSAGE)
def delete():
    user = current_user._get_current_object()
    form = forms.DeletionForm()
    if form.validate_on_submit():
        if not services.check_password(user, form.current_password.data):
            form.current_password.errors.append(_("Mot de passe incorrect."))
            return _render("account/delete.html", 422, form=form)
        services.delete_account(db.session, user)
        commit()
        logout_user()
        session.clear()
        flash(_("Votre compte est supprimé. Vos données personnelles sont effacées."), "success")
        return redirect(url_for("pages.home"))
    return _render("account/delete.html", _form_status(form), form=form)
