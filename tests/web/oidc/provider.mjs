// A small, real OpenID Provider for the dashboard's sign-in tests: panva/oidc-provider (OpenID
// Certified) on 127.0.0.1 over http, one confidential client, PKCE required, code flow only.
//
// Usage: node provider.mjs PORT   (environment: CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS
// comma-separated, CLAIMS_IN_ID_TOKEN=1 to put email/name/groups in the ID token as well as in
// userinfo). Prints "ready ISSUER" once listening. The login page takes a login name and the fixed
// test password; accounts are the static list below. Never for anything but tests.
import http from 'node:http';
import querystring from 'node:querystring';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.PORT || 0);
const host = '127.0.0.1';
const issuer = `http://${host}:${port}`;
const clientId = process.env.CLIENT_ID || 'civicml-dashboard';
const clientSecret = process.env.CLIENT_SECRET || 'civicml-test-secret';
const redirectUris = (process.env.REDIRECT_URIS || 'http://127.0.0.1:8000/auth/callback')
  .split(',').map((s) => s.trim()).filter(Boolean);
export const PASSWORD = 'correct horse battery staple';

const ACCOUNTS = {
  alice: { email: 'alice@example.gov.uk', name: 'Alice Archer', groups: ['civicml-trainers'] },
  bob: { email: 'bob@example.gov.uk', name: 'Bob Baker', groups: ['civicml-approvers'] },
  carol: { email: 'carol@example.gov.uk', name: 'Carol Clark', groups: ['civicml-admins'] },
  dave: { email: 'dave@example.gov.uk', name: 'Dave Dunn', groups: ['finance-readers'] },
};

async function findAccount(ctx, id) {
  const account = ACCOUNTS[id];
  if (!account) return undefined;
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: account.email,
        email_verified: true,
        name: account.name,
        preferred_username: id,
        groups: account.groups,
      };
    },
  };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  conformIdTokenClaims: process.env.CLAIMS_IN_ID_TOKEN !== '1',
  findAccount,
  cookies: { keys: ['civicml-oidc-test-cookie-key'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600,
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, uid, error) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test provider sign-in</title></head>
<body><main><h1>Test identity provider</h1>
${error ? `<p id="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Login name</label> <input id="login" name="login" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Continue</button></form></main></body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return querystring.parse(body);
}

// Login: a known account and the fixed password; consent is granted for what was asked.
async function interaction(req, res, uid, isPost) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (!isPost) return page(res, 200, uid);
  const form = await readForm(req);
  const login = String(form.login || '').trim();
  if (!ACCOUNTS[login] || form.password !== PASSWORD) {
    return page(res, 401, uid, 'Unknown login name or wrong password.');
  }
  const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope || 'openid'));
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, {
    login: { accountId: login },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec(req.url.split('?')[0]);
  if (m && (req.method === 'GET' || (req.method === 'POST' && m[2]))) {
    try {
      await interaction(req, res, m[1], req.method === 'POST');
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${err.message}`);
    }
    return;
  }
  callback(req, res);
});

server.listen(port, host, () => {
  console.log(`ready ${issuer}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
