// `coffer keys import-material | materials | delete-material`: bring your own key material, wrapped here from a file
// (never from the command line), and the key's materials as ListKeyRotations lists them.
import { readFileSync } from 'node:fs';
import { bool, str, subject } from './args.js';
import { allPages, type Group } from './command.js';
import { UsageError } from './io.js';
import { listView, objectView } from './output.js';
import { importKeyMaterialFrom, type WrappingAlgorithm, type WrappingKeySpec } from '../import-material.js';

function validTo(p: Parameters<typeof str>[0]): Date | undefined {
  const text = str(p, 'valid-to');
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--valid-to: not a date: ${text} (use ISO 8601, e.g. 2027-01-31T00:00:00Z)`);
  return date;
}

export const keyMaterialCommands: Group = {
  'import-material': {
    summary: 'import key material from a file (raw bytes; a PKCS #8 DER private key for key pairs), wrapped here first',
    usage: 'KEY --material-file FILE [--new] [--material-id ID] [--description TEXT] [--valid-to DATE] [--wrapping-algorithm ALG] [--wrapping-key-spec SPEC]',
    flags: {
      'material-file': 'string', new: 'boolean', 'material-id': 'string', description: 'string', 'valid-to': 'string',
      'wrapping-algorithm': 'string', 'wrapping-key-spec': 'string',
    },
    async run({ p, client }) {
      const file = str(p, 'material-file');
      if (!file) throw new UsageError('--material-file is required');
      const material = readFileSync(file);
      try {
        const r = await importKeyMaterialFrom(client(), subject(p, 0, 'key'), material, {
          validTo: validTo(p),
          ...(bool(p, 'new') ? { importType: 'NEW_KEY_MATERIAL' as const } : {}),
          ...(str(p, 'material-id') ? { keyMaterialId: str(p, 'material-id') } : {}),
          ...(str(p, 'description') !== undefined ? { keyMaterialDescription: str(p, 'description') } : {}),
          ...(str(p, 'wrapping-algorithm') ? { wrappingAlgorithm: str(p, 'wrapping-algorithm') as WrappingAlgorithm } : {}),
          ...(str(p, 'wrapping-key-spec') ? { wrappingKeySpec: str(p, 'wrapping-key-spec') as WrappingKeySpec } : {}),
        });
        return objectView(r, r);
      } finally {
        material.fill(0);
      }
    },
  },
  materials: {
    summary: "a key's materials: current, non-current and pending rotation, with import state and expiry (ListKeyRotations)",
    usage: 'KEY',
    async run({ p, client }) {
      const items = await allPages(async (Marker) => {
        const r = await client().listKeyRotations({ KeyId: subject(p, 0, 'key'), IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Marker });
        return { items: r.Rotations ?? [], next: r.NextMarker, truncated: r.Truncated };
      }, false);
      return listView({ Rotations: items }, items, ['KeyMaterialId', 'KeyMaterialState', 'ImportState', 'ValidTo', 'RotationDate', 'KeyMaterialDescription']);
    },
  },
  'delete-material': {
    summary: 'delete imported key material: the current one, or the one --material-id names (DeleteImportedKeyMaterial)',
    usage: 'KEY [--material-id ID]',
    flags: { 'material-id': 'string' },
    async run({ p, client }) {
      const r = await client().deleteImportedKeyMaterial({ KeyId: subject(p, 0, 'key'), KeyMaterialId: str(p, 'material-id') });
      return objectView(r, r);
    },
  },
};
