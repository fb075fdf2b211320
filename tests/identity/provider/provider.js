// The identity tests' OpenID provider: panva/oidc-provider on 127.0.0.1, a free port, configured by
// environment variables. It prints "READY <issuer>" once it listens and stops by itself when its
// parent closes standard input, or after TB_PROVIDER_LIFETIME seconds.
//
// TB_CLIENTS:  JSON list of clients ({client_id, client_secret, redirect_uris, post_logout_redirect_uris}).
// TB_ACCOUNTS: JSON object sub -> {claims..., amr?, mischief?}. `amr`: how the provider says it signed the
//              person in (e.g. ["pwd", "mfa"]). `mischief` makes the token endpoint answer
//              with an ID token a real provider could be tricked or broken into sending:
//              "wrong-audience" (signed by this provider, for another client), "tampered" (a claim
//              changed after signing), "expired" (signed, but its exp long past), "wrong-issuer" (signed,
//              naming another issuer), "wrong-nonce" (signed, with a nonce of another sign-in), "future"
//              (signed, issued an hour from now), "alg-none" (unsigned, alg "none"), "hs256" (signed with
//              the client's own secret, HS256: a key-confusion forgery anyone holding the secret could make).
import http from 'node:http';
import { URLSearchParams } from 'node:url';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.TB_CLIENTS || '[]');
const accounts = JSON.parse(process.env.TB_ACCOUNTS || '{}');
const lifetime = Number(process.env.TB_PROVIDER_LIFETIME || 900);

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'tb-test-key', alg: 'RS256', use: 'sig' };

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>`
  + `<body><h1>${title}</h1>${body}</body></html>`;

const server = http.createServer();
server.listen(0, '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [jwk] },
    findAccount: (ctx, sub) => (accounts[sub] ? { accountId: sub, claims: () => ({ sub, ...accounts[sub] }) } : undefined),
    claims: {
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      groups: ['groups'],
    },
    // Scope claims in the ID token (as Entra ID, Okta and Keycloak can be set to), not only at userinfo.
    conformIdTokenClaims: false,
    cookies: { keys: ['tb-test-provider-cookie-key'] },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      // Plain pages of our own: the defaults load web fonts, and these tests reach only loopback.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = page('Sign out of the hospital account', form.replace('</form>',
            '<input type="hidden" name="logout" value="yes"><button type="submit">Yes, sign me out</button></form>'));
        },
        postLogoutSuccessSource: (ctx) => { ctx.body = page('Signed out', '<p>You are signed out.</p>'); },
      },
    },
    renderError: (ctx, out) => { ctx.type = 'html'; ctx.body = page('Provider error', escape(JSON.stringify(out))); },
    ttl: { AuthorizationCode: 60, IdToken: 600, AccessToken: 600, Session: 3600, Interaction: 600, Grant: 3600 },
  });

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || !ctx.body || !ctx.body.id_token) return;
    const claims = jose.decodeJwt(ctx.body.id_token);
    const mischief = (accounts[claims.sub] || {}).mischief;
    const sign = (payload) => new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(privateKey);
    if (mischief === 'wrong-audience') {
      ctx.body = { ...ctx.body, id_token: await sign({ ...claims, aud: 'another-application' }) };
    } else if (mischief === 'expired') {
      ctx.body = { ...ctx.body, id_token: await sign({ ...claims, iat: claims.iat - 7200, exp: claims.iat - 3600 }) };
    } else if (mischief === 'wrong-issuer') {
      ctx.body = { ...ctx.body, id_token: await sign({ ...claims, iss: 'https://login.elsewhere.example' }) };
    } else if (mischief === 'wrong-nonce') {
      ctx.body = { ...ctx.body, id_token: await sign({ ...claims, nonce: 'a-nonce-of-another-sign-in' }) };
    } else if (mischief === 'future') {
      ctx.body = { ...ctx.body, id_token: await sign({ ...claims, iat: claims.iat + 3600, exp: claims.exp + 3600 }) };
    } else if (mischief === 'alg-none') {
      ctx.body = { ...ctx.body, id_token: new jose.UnsecuredJWT(claims).encode() };
    } else if (mischief === 'hs256') {
      const secret = new TextEncoder().encode(clients[0].client_secret);
      const forged = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: jwk.kid }).sign(secret);
      ctx.body = { ...ctx.body, id_token: forged };
    } else if (mischief === 'tampered') {
      const [header, , signature] = ctx.body.id_token.split('.');
      const payload = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
      ctx.body = { ...ctx.body, id_token: `${header}.${payload}.${signature}` };
    }
  });

  // Sign-in page: the login name is the account's sub; consent is granted for what was asked.
  async function interaction(req, res, uid) {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET' && details.prompt.name === 'login') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(page('Hospital sign-in', `<form method="post" action="/interaction/${escape(uid)}">`
        + '<label for="login">Hospital account</label> <input id="login" name="login" autocomplete="off"> '
        + '<button type="submit">Continue</button></form>'));
      return;
    }
    if (details.prompt.name === 'login') {
      const body = await new Promise((resolve) => {
        let data = '';
        req.on('data', (chunk) => { data += chunk; });
        req.on('end', () => resolve(new URLSearchParams(data)));
      });
      const login = body.get('login') || '';
      if (!accounts[login]) {
        res.statusCode = 400;
        res.end(page('Unknown hospital account', `<p>${escape(login)}</p>`));
        return;
      }
      const { amr } = accounts[login];
      await provider.interactionFinished(req, res, { login: { accountId: login, ...(amr ? { amr } : {}) } }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = details.grantId ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details.missingOIDCScope;
    if (missing) grant.addOIDCScope(missing.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  const callback = provider.callback();
  server.on('request', (req, res) => {
    const match = req.url.match(/^\/interaction\/([^/?]+)/);
    if (!match) { callback(req, res); return; }
    interaction(req, res, match[1]).catch((error) => {
      res.statusCode = 500;
      res.end(page('Provider error', escape(error.message)));
    });
  });
  process.stdout.write(`READY ${issuer}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), lifetime * 1000).unref();
