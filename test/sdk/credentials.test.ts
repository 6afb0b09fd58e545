// Where the SDK finds credentials, endpoint and region: options, environment, shared credentials file.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIni, resolveCredentials, resolveEndpoint, resolveRegion } from '../../sdk/credentials.js';

const dir = mkdtempSync(join(tmpdir(), 'coffer-creds-'));
const file = join(dir, 'credentials');
writeFileSync(file, '[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n\n# comment\n[coffer]\naws_access_key_id=COF\naws_secret_access_key=cofsecret\naws_session_token=tok\n');

describe('credential chain', () => {
  it('prefers the options', () => {
    expect(resolveCredentials({ credentials: { accessKeyId: 'O', secretAccessKey: 'o' } }, { AWS_ACCESS_KEY_ID: 'E', AWS_SECRET_ACCESS_KEY: 'e' }).accessKeyId).toBe('O');
  });
  it('then the environment variables, with the session token', () => {
    const c = resolveCredentials({}, { AWS_ACCESS_KEY_ID: 'E', AWS_SECRET_ACCESS_KEY: 'e', AWS_SESSION_TOKEN: 't', AWS_SHARED_CREDENTIALS_FILE: file });
    expect(c).toEqual({ accessKeyId: 'E', secretAccessKey: 'e', sessionToken: 't' });
  });
  it('then the shared credentials file: default profile, AWS_PROFILE, or the profile option', () => {
    expect(resolveCredentials({}, { AWS_SHARED_CREDENTIALS_FILE: file }).accessKeyId).toBe('DEF');
    expect(resolveCredentials({}, { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'coffer' })).toEqual({ accessKeyId: 'COF', secretAccessKey: 'cofsecret', sessionToken: 'tok' });
    expect(resolveCredentials({ profile: 'coffer' }, { AWS_SHARED_CREDENTIALS_FILE: file }).accessKeyId).toBe('COF');
  });
  it('reads ~/.aws/credentials under HOME by default', () => {
    const home = mkdtempSync(join(tmpdir(), 'coffer-home-'));
    expect(() => resolveCredentials({}, { HOME: home })).toThrow(/No credentials/);
    const aws = join(home, '.aws');
    mkdirSync(aws);
    writeFileSync(join(aws, 'credentials'), '[default]\naws_access_key_id=H\naws_secret_access_key=h\n');
    expect(resolveCredentials({}, { HOME: home }).accessKeyId).toBe('H');
  });
  it('fails with a clear message when a profile is missing', () => {
    expect(() => resolveCredentials({}, { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'nope' })).toThrow(/AWS_PROFILE/);
  });
  it('parses INI sections, including "[profile x]"', () => {
    expect(parseIni('[profile a]\nk = v\n')).toEqual({ a: { k: 'v' } });
  });
  it('finds endpoint and region', () => {
    expect(resolveEndpoint(undefined, { COFFER_ENDPOINT: 'http://h:1' }).host).toBe('h:1');
    expect(resolveEndpoint('http://o:2', { COFFER_ENDPOINT: 'http://h:1' }).host).toBe('o:2');
    expect(() => resolveEndpoint(undefined, {})).toThrow(/COFFER_ENDPOINT/);
    expect(resolveRegion(undefined, {})).toBe('us-east-1');
    expect(resolveRegion(undefined, { AWS_REGION: 'eu-west-1' })).toBe('eu-west-1');
    expect(resolveRegion('ap-south-1', { AWS_REGION: 'eu-west-1' })).toBe('ap-south-1');
  });
});
