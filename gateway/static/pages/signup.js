import * as api from '../api.js';
import { t, currentLanguage, LANGUAGES } from '../i18n.js';
import {
  h, field, radioGroup, formMessage, submitButton, value, onSubmit, showProblems, showApiError,
  EMAIL_RE, passwordProblem,
} from '../dom.js';

export const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];

export async function render(ctx) {
  const form = h('form', { class: 'form', 'data-testid': 'signup-form', novalidate: true },
    formMessage(),
    field({ form: 'signup', name: 'email', label: t('signup.email'), type: 'email', attrs: { autocomplete: 'email', inputmode: 'email', spellcheck: 'false' } }),
    field({ form: 'signup', name: 'password', label: t('signup.password'), type: 'password', hint: t('password.rules'), attrs: { autocomplete: 'new-password', maxlength: '128' } }),
    field({ form: 'signup', name: 'name', label: t('signup.name'), attrs: { autocomplete: 'name' } }),
    radioGroup({
      form: 'signup',
      name: 'billing_type',
      legend: t('signup.billingType'),
      value: 'prepaid',
      options: [
        { value: 'prepaid', label: t('signup.prepaid') },
        { value: 'postpaid', label: t('signup.postpaid') },
      ],
    }),
    field({ form: 'signup', name: 'currency', label: t('signup.currency'), value: 'EUR', options: CURRENCIES.map((c) => ({ value: c, label: t(`currency.${c}`) })) }),
    field({ form: 'signup', name: 'phone', label: t('signup.phone'), type: 'tel', hint: t('phone.hint'), attrs: { autocomplete: 'tel' } }),
    field({ form: 'signup', name: 'language', label: t('signup.language'), value: currentLanguage(), options: LANGUAGES.map((l) => ({ value: l, lang: l, label: t(`language.${l}`) })), attrs: { 'data-ui-language': '' } }),
    h('div', { class: 'actions' }, submitButton(t('signup.submit'))));

  onSubmit(form, async () => {
    const body = {
      email: value(form, 'email').trim(),
      password: value(form, 'password'),
      name: value(form, 'name').trim(),
      billing_type: value(form, 'billing_type'),
      currency: value(form, 'currency'),
      language: value(form, 'language'),
    };
    const phone = value(form, 'phone').trim();
    if (phone) body.phone = phone;

    const problems = {};
    if (!body.email) problems.email = t('validation.required');
    else if (!EMAIL_RE.test(body.email)) problems.email = t('validation.email');
    const pw = passwordProblem(body.password);
    if (pw) problems.password = pw;
    if (!body.name) problems.name = t('validation.required');
    if (!body.billing_type) problems.billing_type = t('validation.required');
    if (showProblems(form, problems)) return;

    try {
      await api.post('/api/v1/accounts', body, { redirectOn401: false });
    } catch (err) {
      showApiError(form, err, { fieldFor: { EMAIL_TAKEN: 'email', WEAK_PASSWORD: 'password' } });
      return;
    }
    try {
      const result = await api.post('/api/v1/auth/login', { email: body.email, password: body.password }, { redirectOn401: false });
      await ctx.loggedIn(result);
    } catch (err) {
      // The account exists; only the automatic login failed (e.g. throttled).
      ctx.setFlash('login', 'success', 'signup.createdLoginFailed');
      ctx.navigate('#/login');
    }
  });

  return h('section', { class: 'page card narrow', 'data-testid': 'page-signup' },
    h('h1', {}, t('signup.title')),
    h('p', { class: 'intro' }, t('signup.intro')),
    form,
    h('p', { class: 'switch' }, `${t('signup.haveAccount')} `, h('a', { href: '#/login', 'data-testid': 'to-login' }, t('signup.toLogin'))));
}

