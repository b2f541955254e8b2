// A real OpenID provider for the portal's tests: panva's oidc-provider (OpenID Certified).
// Usage: node provider.mjs CONFIG.json — {"port": N, "clients": [{client_id, client_secret,
// redirect_uris}]}. Its built-in development login and consent pages accept any login: the
// login typed becomes the account's `sub`, `email` and `preferred_username`. The optional
// `addresses` file of the config ({"subject": "address"}, read at each sign-in) gives a subject
// another address: an address changed, or given to someone new.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  pkce: { required: () => true },
  // Put the scopes' claims in the ID token itself (the default keeps only `sub` there).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  cookies: { keys: ['portal-tests-only'] },
  async findAccount(ctx, id) {
    let addresses = {};
    if (config.addresses) {
      try {
        addresses = JSON.parse(readFileSync(config.addresses, 'utf8'));
      } catch {
        addresses = {};
      }
    }
    const subject = id;
    const address = addresses[id] || id;
    return {
      accountId: id,
      async claims() {
        const local = address.split('@')[0];
        return {
          sub: subject,
          email: address,
          email_verified: true,
          preferred_username: address,
          name: local.charAt(0).toUpperCase() + local.slice(1) + ' (IdP)',
        };
      },
    };
  },
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
