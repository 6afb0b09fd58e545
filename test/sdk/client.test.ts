// The SDK's CofferClient against the real server: every operation the server serves, errors as classes, decoding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CofferClient, decodeResponse, encodeRequest, methodName } from '../../sdk/client.js';
import { FAMILIES } from '../../sdk/contract/operations.js';
import { OPERATIONS } from '../../server/operations/index.js';
import { CofferServiceError, InvalidCiphertextException, NotFoundException, UnrecognizedClientException } from '../../sdk/errors.js';
import { ADMIN, REGION, startCoffer, type CofferProcess } from '../helpers/server.js';

let server: CofferProcess;
let client: CofferClient;
beforeAll(async () => {
  server = await startCoffer();
  client = new CofferClient({ endpoint: server.url, region: REGION, credentials: ADMIN, env: {} });
});
afterAll(async () => {
  await server?.stop();
});

describe('CofferClient', () => {
  it('has a method for every operation the server registers, in every family', () => {
    const targets = Object.keys(OPERATIONS);
    expect(targets.length).toBeGreaterThanOrEqual(60);
    for (const target of targets) {
      const [prefix, op] = [target.slice(0, target.indexOf('.') + 1), target.slice(target.indexOf('.') + 1)];
      const family = FAMILIES.find((f) => f.prefix === prefix);
      expect(family, target).toBeDefined();
      expect(family!.operations, target).toContain(op);
      const holder = (family!.namespace === null ? client : client[family!.namespace]) as unknown as Record<string, unknown>;
      expect(typeof holder[methodName(op)], target).toBe('function');
    }
    expect(FAMILIES.flatMap((f) => f.operations.map((o) => f.prefix + o)).sort()).toEqual([...targets].sort());
  });

  it('sends a namespaced method to its own target: audit.getPublicKey is CofferAudit., getPublicKey TrentService.', async () => {
    const seen: string[] = [];
    const recording = new CofferClient({
      endpoint: 'http://127.0.0.1:9', credentials: ADMIN, env: {},
      fetch: async (_url, init) => (seen.push(String((init!.headers as Record<string, string>)['x-amz-target'])), new Response('{}')),
    });
    await recording.audit.getPublicKey();
    await recording.getPublicKey({ KeyId: 'k' });
    await recording.identity.listUsers();
    expect(seen).toEqual(['CofferAudit.GetPublicKey', 'TrentService.GetPublicKey', 'CofferIdentity.ListUsers']);
  });

  it('creates, describes, lists, updates, disables and enables a key, with dates as Date', async () => {
    const created = await client.createKey({ Description: 'sdk', Tags: [{ TagKey: 'team', TagValue: 'a' }] });
    const id = created.KeyMetadata!.KeyId;
    expect(created.KeyMetadata!.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(created.KeyMetadata!.CreationDate!.getTime() - Date.now())).toBeLessThan(10 * 60_000);
    await client.updateKeyDescription({ KeyId: id, Description: 'renamed' });
    expect((await client.describeKey({ KeyId: id })).KeyMetadata!.Description).toBe('renamed');
    await client.disableKey({ KeyId: id });
    expect((await client.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('Disabled');
    await client.enableKey({ KeyId: id });
    expect((await client.describeKey({ KeyId: id })).KeyMetadata!.Enabled).toBe(true);
    const keys = await client.listKeys({ Limit: 1000 });
    expect(keys.Keys!.map((k) => k.KeyId)).toContain(id);
  });

  it('encrypts, decrypts, re-encrypts and generates data keys and random bytes, with blobs as bytes', async () => {
    const { KeyMetadata } = await client.createKey({});
    const KeyId = KeyMetadata!.KeyId;
    const ctx = { app: 'sdk' };
    const plaintext = new TextEncoder().encode('hello, sdk');
    const enc = await client.encrypt({ KeyId, Plaintext: plaintext, EncryptionContext: ctx });
    expect(enc.CiphertextBlob).toBeInstanceOf(Uint8Array);
    const dec = await client.decrypt({ CiphertextBlob: enc.CiphertextBlob!, EncryptionContext: ctx });
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('hello, sdk');
    expect(dec.KeyId).toBe(KeyMetadata!.Arn);
    const other = (await client.createKey({})).KeyMetadata!.KeyId;
    const re = await client.reEncrypt({ CiphertextBlob: enc.CiphertextBlob!, SourceEncryptionContext: ctx, DestinationKeyId: other });
    expect(Buffer.from((await client.decrypt({ CiphertextBlob: re.CiphertextBlob! })).Plaintext!).toString()).toBe('hello, sdk');
    const dk = await client.generateDataKey({ KeyId, KeySpec: 'AES_256', EncryptionContext: ctx });
    expect(dk.Plaintext!.length).toBe(32);
    expect(Buffer.from((await client.decrypt({ CiphertextBlob: dk.CiphertextBlob!, EncryptionContext: ctx })).Plaintext!)).toEqual(Buffer.from(dk.Plaintext!));
    const wo = await client.generateDataKeyWithoutPlaintext({ KeyId, NumberOfBytes: 16 });
    expect((await client.decrypt({ CiphertextBlob: wo.CiphertextBlob! })).Plaintext!.length).toBe(16);
    expect((await client.generateRandom({ NumberOfBytes: 7 })).Plaintext!.length).toBe(7);
  });

  it('manages aliases and tags', async () => {
    const a = (await client.createKey({})).KeyMetadata!.KeyId;
    const b = (await client.createKey({})).KeyMetadata!.KeyId;
    const name = `alias/sdk-${Date.now()}`;
    await client.createAlias({ AliasName: name, TargetKeyId: a });
    await client.updateAlias({ AliasName: name, TargetKeyId: b });
    const listed = await client.listAliases({ KeyId: b });
    expect(listed.Aliases!.map((x) => x.AliasName)).toEqual([name]);
    expect(listed.Aliases![0]!.LastUpdatedDate).toBeInstanceOf(Date);
    await client.deleteAlias({ AliasName: name });
    expect((await client.listAliases({ KeyId: b })).Aliases).toEqual([]);
    await client.tagResource({ KeyId: a, Tags: [{ TagKey: 'k', TagValue: 'v' }, { TagKey: 'x', TagValue: 'y' }] });
    await client.untagResource({ KeyId: a, TagKeys: ['x'] });
    expect((await client.listResourceTags({ KeyId: a })).Tags).toEqual([{ TagKey: 'k', TagValue: 'v' }]);
  });

  it('schedules and cancels deletion', async () => {
    const id = (await client.createKey({})).KeyMetadata!.KeyId;
    const s = await client.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    expect(s.DeletionDate).toBeInstanceOf(Date);
    expect(s.KeyState).toBe('PendingDeletion');
    await client.cancelKeyDeletion({ KeyId: id });
    expect((await client.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('Disabled');
  });

  it('throws one class per AWS error name, with status and retryable', async () => {
    const e = await client.describeKey({ KeyId: '00000000-0000-0000-0000-000000000000' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundException);
    expect(e).toBeInstanceOf(CofferServiceError);
    expect((e as CofferServiceError).name).toBe('NotFoundException');
    expect((e as CofferServiceError).status).toBe(400);
    expect((e as CofferServiceError).retryable).toBe(false);
    const bad = await client.decrypt({ CiphertextBlob: new Uint8Array(64).fill(1) }).catch((x: unknown) => x);
    expect(bad).toBeInstanceOf(InvalidCiphertextException);
    const stranger = new CofferClient({ endpoint: server.url, credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' }, env: {} });
    expect(await stranger.listKeys({}).catch((x: unknown) => x)).toBeInstanceOf(UnrecognizedClientException);
  });
});

describe('wire encoding', () => {
  it('sends Uint8Array and Buffer members (at any depth) as base64, and drops undefined members', () => {
    const body = JSON.parse(encodeRequest({ A: Buffer.from('hi'), B: new Uint8Array([1, 2]).subarray(1), C: undefined, D: { E: Buffer.from('x') } }));
    expect(body).toEqual({ A: 'aGk=', B: 'Ag==', D: { E: 'eA==' } });
  });
  it('sends Date members as epoch seconds', () => {
    expect(JSON.parse(encodeRequest({ StartTime: new Date(1700000000500), ValidTo: 1700000001 }))).toEqual({ StartTime: 1700000000.5, ValidTo: 1700000001 });
  });
  it('decodes epoch-second dates and base64 blobs by member name', () => {
    const r = decodeResponse('{"KeyMetadata":{"CreationDate":1700000000.5},"Plaintext":"aGk=","KeyId":"aGk="}');
    expect(r).toEqual({ KeyMetadata: { CreationDate: new Date(1700000000500) }, Plaintext: new Uint8Array(Buffer.from('hi')), KeyId: 'aGk=' });
  });
});
