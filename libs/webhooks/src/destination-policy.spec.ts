import { DestinationPolicy, DestinationRules } from './destination-policy';

const RULES: DestinationRules = {
  allowedHosts: [
    'hooks.example.org',
    '*.callbacks.example.net',
    'EXAMPLE.com',
    'bücher.example',
    '203.0.113.9',
    '2001:db8::9',
  ],
  allowPrivateAddresses: ['127.0.0.1', '10.9.0.0/16', 'fd00::1'],
  allowHttp: false,
};

describe('DestinationPolicy', () => {
  const policy = new DestinationPolicy(RULES);

  describe('refusalOfUrl', () => {
    it.each<[string, RegExp | null]>([
      ['https://hooks.example.org/run?id=1', null],
      ['https://HOOKS.Example.org:8443/', null],
      ['https://a.callbacks.example.net/', null],
      ['https://a.b.callbacks.example.net/', null],
      ['https://example.com/', null],
      ['https://xn--bcher-kva.example/', null],
      ['https://203.0.113.9/', null],
      ['https://[2001:db8:0::9]/', null],
      ['https://callbacks.example.net/', /^callbacks\.example\.net is not an allowed host$/],
      ['https://evilcallbacks.example.net/', /not an allowed host/],
      ['https://hooks.example.org.evil.test/', /not an allowed host/],
      ['https://hooks.example.org./', /not an allowed host/],
      ['https://203.0.113.10/', /not an allowed host/],
      ['http://hooks.example.org/', /^http is not allowed: use https$/],
      ['ftp://hooks.example.org/', /^ftp: is not http or https$/],
      ['file:///etc/passwd', /^file: is not http or https$/],
      ['https://user:pw@hooks.example.org/', /^the URL carries credentials$/],
      ['https://user@hooks.example.org/', /^the URL carries credentials$/],
    ])('%s: %p', (url, refusal) => {
      const reason = policy.refusalOfUrl(new URL(url));
      if (refusal === null) expect(reason).toBeNull();
      else expect(reason).toMatch(refusal);
    });

    it('takes http when allowHttp is set', () => {
      const lax = new DestinationPolicy({ ...RULES, allowHttp: true });
      expect(lax.refusalOfUrl(new URL('http://hooks.example.org/'))).toBeNull();
      expect(lax.refusalOfUrl(new URL('ftp://hooks.example.org/'))).toMatch(/not http or https/);
    });

    it('refuses every host when the list is empty', () => {
      const closed = new DestinationPolicy({ ...RULES, allowedHosts: [] });
      expect(closed.refusalOfUrl(new URL('https://hooks.example.org/'))).toMatch(/not an allowed/);
    });
  });

  describe('refusalOfAddress', () => {
    it.each<[string, string | null]>([
      ['8.8.8.8', null],
      ['2606:4700::1111', null],
      ['::ffff:8.8.8.8', null],
      // Allowed although private or loopback:
      ['127.0.0.1', null],
      ['::ffff:127.0.0.1', null],
      ['10.9.200.1', null],
      ['fd00::1', null],
      // Refused:
      ['127.0.0.2', '127.0.0.2 is loopback'],
      ['::1', '::1 is loopback'],
      ['::ffff:127.0.0.2', '::ffff:127.0.0.2 is loopback'],
      ['10.0.0.7', '10.0.0.7 is private'],
      ['172.16.0.1', '172.16.0.1 is private'],
      ['192.168.1.1', '192.168.1.1 is private'],
      ['::ffff:10.0.0.7', '::ffff:10.0.0.7 is private'],
      ['fd00::2', 'fd00::2 is uniqueLocal'],
      ['fc00::1', 'fc00::1 is uniqueLocal'],
      ['169.254.169.254', '169.254.169.254 is linkLocal'],
      ['fe80::1', 'fe80::1 is linkLocal'],
      ['fe80::1%eth0', 'fe80::1%eth0 is linkLocal'],
      ['100.64.0.1', '100.64.0.1 is carrierGradeNat'],
      ['0.0.0.0', '0.0.0.0 is unspecified'],
      ['::', ':: is unspecified'],
      ['224.0.0.1', '224.0.0.1 is multicast'],
      ['ff02::1', 'ff02::1 is multicast'],
      ['255.255.255.255', '255.255.255.255 is broadcast'],
      ['192.0.2.1', '192.0.2.1 is reserved'],
      ['::7f00:1', '::7f00:1 is ipv4Compatible'],
      ['64:ff9b::a00:7', '64:ff9b::a00:7 is rfc6052'],
      ['2002:a00:7::', '2002:a00:7:: is 6to4'],
      ['0x7f.1', '0x7f.1 is not an IP address'],
      ['localhost', 'localhost is not an IP address'],
    ])('%s: %p', (address, refusal) => {
      expect(policy.refusalOfAddress(address)).toBe(refusal);
    });
  });

  describe('construction', () => {
    it.each([
      'https://hooks.example.org',
      'hooks.example.org/path',
      'user@hooks.example.org',
      'hooks.example.org:8443',
      'a b',
    ])('refuses the allowed host %j', (entry) => {
      expect(() => new DestinationPolicy({ ...RULES, allowedHosts: [entry] })).toThrow(
        /^allowedHosts: .* is not a host name or IP address$/,
      );
    });

    it.each(['localhost', '10.1', '10.0.0.0/33', '10.0.0.0/8/8', '0x7f.0.0.1', ''])(
      'refuses the private allowance %j',
      (entry) => {
        expect(() => new DestinationPolicy({ ...RULES, allowPrivateAddresses: [entry] })).toThrow(
          /^allowPrivateAddresses: .* is not an IP address or CIDR range$/,
        );
      },
    );
  });
});
