// A real OpenID Connect provider for the sign-in tests: panva's certified `oidc-provider`,
// with a password form of our own instead of its development pages.
//
// Environment:
//   IDP_USERS          JSON file {login: {password, name, email, groups: [...]}}, read at every
//                      sign-in (a test edits it to move someone between groups)
//   IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_REDIRECT_URIS, IDP_POST_LOGOUT_REDIRECT_URIS (comma
//                      separated; the latter where RP-initiated logout may send the browser back)
//   IDP_ISSUER_HOST    the host the issuer names (default 127.0.0.1; "localhost" makes an
//                      issuer that does not match the address the dashboard was given)
//   IDP_PORT           0 (default) picks a free port; the first line printed is
//                      "listening <port>"
// Binds 127.0.0.1 only.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

import Provider from "oidc-provider";

const env = process.env;
const usersFile = env.IDP_USERS;

function users() {
  return JSON.parse(readFileSync(usersFile, "utf8"));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, login, error) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Corp sign-in</title></head>
<body><h1>Corp directory</h1>
${error ? `<p id="idp-error">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Login <input id="idp-login" name="login" value="${escapeHtml(login || "")}" autofocus></label>
<label>Password <input id="idp-password" name="password" type="password"></label>
<button id="idp-submit" type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

const server = createServer();
server.listen(Number(env.IDP_PORT || 0), "127.0.0.1", () => {
  const port = server.address().port;
  const issuer = `http://${env.IDP_ISSUER_HOST || "127.0.0.1"}:${port}`;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "test-1", use: "sig", alg: "RS256" };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: env.IDP_CLIENT_ID,
        client_secret: env.IDP_CLIENT_SECRET,
        redirect_uris: (env.IDP_REDIRECT_URIS || "").split(",").filter(Boolean),
        post_logout_redirect_uris: (env.IDP_POST_LOGOUT_REDIRECT_URIS || "").split(",").filter(Boolean),
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    scopes: ["openid", "profile", "email", "groups"],
    claims: {
      openid: ["sub"],
      profile: ["name", "preferred_username"],
      email: ["email", "email_verified"],
      groups: ["groups"],
    },
    features: {
      devInteractions: { enabled: false },
      // RP-initiated logout, with pages of our own (the default ones load a web font)
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Corp sign-out</title></head>
<body><h1 id="idp-sign-out">Sign out of the Corp directory?</h1>${form}
<button id="idp-sign-out-yes" type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button id="idp-sign-out-no" type="submit" form="op.logoutForm">No, stay signed in</button></body></html>`;
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head>
<body><h1 id="idp-signed-out">Signed out of the Corp directory.</h1></body></html>`;
        },
      },
    },
    pkce: { required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const person = users()[id];
      if (!person) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            name: person.name,
            preferred_username: id,
            email: person.email,
            email_verified: true,
            groups: person.groups || [],
          };
        },
      };
    },
  });

  const oidc = provider.callback();
  server.on("request", async (req, res) => {
    const path = new URL(req.url, issuer).pathname;
    if (path === "/favicon.ico") {
      res.writeHead(204);
      return res.end();
    }
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(path);
    if (!match) return oidc(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      const { uid, prompt, params, session } = details;
      if (prompt.name === "login") {
        if (req.method === "POST" && match[2]) {
          const form = await readForm(req);
          const login = form.get("login") || "";
          const person = users()[login];
          if (!person || person.password !== form.get("password")) {
            res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
            return res.end(loginPage(uid, login, "Wrong login or password."));
          }
          return provider.interactionFinished(req, res, { login: { accountId: login } }, {
            mergeWithLastSubmission: false,
          });
        }
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
        return res.end(loginPage(uid, "", ""));
      }
      // Consent: the dashboard is the company's own application, granted what it asks.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(" "));
      }
      const grantId = await grant.save();
      return provider.interactionFinished(req, res, { consent: { grantId } }, {
        mergeWithLastSubmission: true,
      });
    } catch (err) {
      res.writeHead(400, { "Content-Type": "text/plain; charset=utf-8" });
      return res.end(`interaction failed: ${err.message}`);
    }
  });
  process.stdout.write(`listening ${port}\n`);
});
