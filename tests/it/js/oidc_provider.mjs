// The OpenID Provider of the single sign-on test: npm's oidc-provider (a
// certified implementation) with one confidential client and a few
// accounts carrying a `groups` claim, signing in through its built-in
// development forms. Usage: node oidc_provider.mjs PORT REDIRECT_URI
// CLIENT_SECRET. Prints "ready" once it listens; stops on SIGTERM.
import Provider from 'oidc-provider';

const [port, redirectUri, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const accounts = {
  ann: { groups: ['staff'] },
  ed: { groups: ['support', 'staff'] },
  stu: { groups: ['students'] },
  // The name of Belfry's local admin: refused, whatever the groups.
  root: { groups: ['support'] },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'belfry',
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // The dev forms accept any login; only the accounts above exist.
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, groups: account.groups };
      },
    };
  },
  claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'groups'],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['belfry-test-cookie-key'] },
});
// Plain http on loopback: tell the provider not to insist on https.
provider.proxy = false;

const server = provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
