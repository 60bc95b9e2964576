// A real OpenID Connect provider (panva/oidc-provider) on 127.0.0.1 for the interactive
// sign-in tests. It listens on a free port, then prints one JSON line {"issuer": ...} on
// stdout; it runs until stdin closes (so a crashed test never leaves it behind).
//
// Configured as the tests need: devInteractions (its own login and consent pages), PKCE
// required for every client, the device authorization grant (RFC 8628), revocation
// (RFC 7009), introspection (RFC 7662, for the tests' own checks), discovery, RFC 9207 `iss`
// in authorization responses (always on in this version), refresh-token rotation on every use.
//
// Clients come from argv[2] as JSON (a list of oidc-provider client metadata objects).
import http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

const clients = JSON.parse(process.argv[2] || '[]');
const ttl = JSON.parse(process.argv[3] || '{}');

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients,
  cookies: { keys: ['token-vault-oidc-tests'] },
  scopes: ['openid', 'offline_access', 'api:read'],
  claims: { openid: ['sub'], email: ['email'] },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.test` }),
  }),
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: ttl.AccessToken ?? 600,
    AuthorizationCode: 60,
    DeviceCode: ttl.DeviceCode ?? 300,
    IdToken: 600,
    Interaction: 600,
    Grant: 3600,
    RefreshToken: 3600,
    Session: 3600,
  },
});
// devInteractions and the default page sources print "change this" warnings on first use.
provider.on('server_error', (_ctx, err) => { process.stderr.write(`server_error: ${err.stack}\n`); });
server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.stdin.resume();
process.stdin.on('end', () => { server.close(); process.exit(0); });
