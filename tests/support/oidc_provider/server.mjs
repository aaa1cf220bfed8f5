// A real OpenID Provider for regauth's tests: panva's certified oidc-provider, configured from
// a JSON file the Python harness writes (tests/support/oidc_provider.py), with a login and a
// consent page of its own that check the password of the harness's accounts.
//
//   node server.mjs <config.json>
//
// config.json: {issuer, port, jwks: {keys: [private JWKs]}, clients: [oidc-provider client
// metadata], accounts_file, cookie_keys: [..], claims_in_id_token: bool, auth_methods: the
// token endpoint's client authentication methods, or null for the provider's}
// accounts_file: {accounts: [{login, password, sub, claims: {preferred_username, email, name,
// groups, ...}}]}, read anew at every login and claims lookup, so that a test can rename
// someone at the IdP or change their groups while the provider runs.
//
// devInteractions is not used: it signs anyone in with any password, and its pages print the
// authorization request's parameters (the nonce, the PKCE challenge) for debugging.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function accounts() {
  return JSON.parse(readFileSync(config.accounts_file, 'utf8')).accounts;
}

function sameSecret(a, b) {
  // Digests of equal length, so that the comparison takes the same time whatever is typed.
  const digest = (value) => createHash('sha256').update(String(value)).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: config.cookie_keys },
  // What the test client asks for at the authorization endpoint decides what it gets.
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // Off: the ID token carries the claims of the scopes granted (as Keycloak, Dex and Entra ID
  // do). On (the provider's default, as the spec reads): only userinfo has them.
  conformIdTokenClaims: !config.claims_in_id_token,
  pkce: { required: () => true },
  ...(config.auth_methods ? { clientAuthMethods: config.auth_methods } : {}),
  features: {
    devInteractions: { enabled: false },
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async findAccount(ctx, sub) {
    const account = accounts().find((a) => a.sub === sub);
    if (!account) {
      return undefined;
    }
    return {
      accountId: sub,
      async claims() {
        // Read again: a rename at the IdP shows in the next token.
        const now = accounts().find((a) => a.sub === sub) ?? account;
        // A claim the harness sets to null is one this provider does not send.
        const claims = { sub, email_verified: true, ...now.claims };
        return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== null));
      },
    };
  },
});

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function loginPage(uid, message) {
  return page('Sign-in', `${message ? `<p class="error">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login" autocomplete="off">
  <label>Username <input required type="text" name="login" autofocus></label>
  <label>Password <input required type="password" name="password"></label>
  <button type="submit">Sign-in</button>
</form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`);
}

function consentPage(uid, clientId, scopes) {
  const items = scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  return page('Authorize', `<p>${escapeHtml(clientId)} asks for:</p><ul>${items}</ul>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Continue</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) {
      throw new Error('form too large');
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, page('Error', '<p>interaction mismatch</p>'));
    return;
  }
  const { prompt, params, session, grantId } = details;
  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') {
      send(res, 200, loginPage(uid));
    } else {
      const scopes = prompt.details.missingOIDCScope ?? [];
      send(res, 200, consentPage(uid, params.client_id, scopes));
    }
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, page('Error', '<p>method not allowed</p>'));
    return;
  }
  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'login' && prompt.name === 'login') {
    const form = await readForm(req);
    const account = accounts().find((a) => a.login === form.get('login'));
    if (!account || !sameSecret(account.password, form.get('password') ?? '')) {
      send(res, 401, loginPage(uid, 'Invalid username or password.'));
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId: account.sub },
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) {
      grant.addOIDCScope(missingOIDCScope.join(' '));
    }
    if (missingOIDCClaims) {
      grant.addOIDCClaims(missingOIDCClaims);
    }
    for (const [indicator, scope] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
    await provider.interactionFinished(req, res, {
      consent: { grantId: await grant.save() },
    }, { mergeWithLastSubmission: true });
    return;
  }
  send(res, 400, page('Error', `<p>nothing to do for ${escapeHtml(action)} at ${escapeHtml(prompt.name)}</p>`));
}

const providerCallback = provider.callback();
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/;

const server = createServer((req, res) => {
  const { pathname } = new URL(req.url, config.issuer);
  const match = INTERACTION.exec(pathname);
  if (!match) {
    providerCallback(req, res);
    return;
  }
  interaction(req, res, match[1], match[2]).catch((err) => {
    // An expired or unknown interaction (no cookie, a stale uid): a page, not a crash.
    console.error(`interaction error: ${err.name}: ${err.message}`);
    if (!res.headersSent) {
      send(res, 400, page('Error', `<p>${escapeHtml(err.name)}</p>`));
    }
  });
});

provider.on('server_error', (ctx, err) => console.error(`server_error: ${err.stack}`));
provider.on('grant.error', (ctx, err) => console.error(`grant.error: ${err.name}: ${err.message}`));

server.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${config.issuer}`);
});

// Everything the provider holds is in memory: nothing to finish before going.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
