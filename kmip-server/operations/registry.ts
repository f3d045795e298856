import { Operation } from '../ttlv/enums.ts';
import type { OperationHandler, OutcomeHandler } from './context.ts';
import { interop } from './interop.ts';
import { log } from './log.ts';
import { activate } from './activate.ts';
import { create } from './create.ts';
import { destroy } from './destroy.ts';
import { discoverVersions } from './discover-versions.ts';
import { get } from './get.ts';
import { getAttributeList, getAttributes } from './get-attributes.ts';
import { register } from './register.ts';
import { revoke } from './revoke.ts';
import { createKeyPair } from './create-key-pair.ts';
import { rekey } from './rekey.ts';
import { rekeyKeyPair } from './rekey-key-pair.ts';
import { addAttribute } from './add-attribute.ts';
import { adjustAttribute } from './adjust-attribute.ts';
import { archive } from './archive.ts';
import { cancel } from './cancel.ts';
import { check } from './check.ts';
import { deleteAttribute } from './delete-attribute.ts';
import { getUsageAllocation } from './get-usage-allocation.ts';
import { locate } from './locate.ts';
import { modifyAttribute } from './modify-attribute.ts';
import { obtainLease } from './obtain-lease.ts';
import { poll } from './poll.ts';
import { query } from './query.ts';
import { recover } from './recover.ts';
import { setAttribute } from './set-attribute.ts';
import { encrypt } from './encrypt.ts';
import { decrypt } from './decrypt.ts';
import { sign } from './sign.ts';
import { signatureVerify } from './signature-verify.ts';
import { mac } from './mac.ts';
import { macVerify } from './mac-verify.ts';
import { hash } from './hash.ts';
import { rngRetrieve } from './rng-retrieve.ts';
import { rngSeed } from './rng-seed.ts';
import { deriveKey } from './derive-key.ts';
import { createSplitKey } from './create-split-key.ts';
import { joinSplitKey } from './join-split-key.ts';
import { certify } from './certify.ts';
import { recertify } from './recertify.ts';
import { importObject } from './import.ts';
import { exportObject } from './export.ts';
import { validate } from './validate.ts';

/** Operation → handler. A new operation is a new file plus one line here. */
export const HANDLERS: ReadonlyMap<number, OperationHandler | OutcomeHandler> = new Map<number, OperationHandler | OutcomeHandler>([
  [Operation.Activate, activate],
  [Operation.Create, create],
  [Operation.Destroy, destroy],
  [Operation.DiscoverVersions, discoverVersions],
  [Operation.Get, get],
  [Operation.Interop, interop],
  [Operation.Log, log],
  [Operation.GetAttributeList, getAttributeList],
  [Operation.GetAttributes, getAttributes],
  [Operation.Register, register],
  [Operation.Revoke, revoke],
  [Operation.CreateKeyPair, createKeyPair],
  [Operation.ReKey, rekey],
  [Operation.ReKeyKeyPair, rekeyKeyPair],
  [Operation.AddAttribute, addAttribute],
  [Operation.AdjustAttribute, adjustAttribute],
  [Operation.Archive, archive],
  [Operation.Cancel, cancel],
  [Operation.Check, check],
  [Operation.DeleteAttribute, deleteAttribute],
  [Operation.GetUsageAllocation, getUsageAllocation],
  [Operation.Locate, locate],
  [Operation.ModifyAttribute, modifyAttribute],
  [Operation.ObtainLease, obtainLease],
  [Operation.Poll, poll],
  [Operation.Query, query],
  [Operation.Recover, recover],
  [Operation.SetAttribute, setAttribute],
  [Operation.Encrypt, encrypt],
  [Operation.Decrypt, decrypt],
  [Operation.Sign, sign],
  [Operation.SignatureVerify, signatureVerify],
  [Operation.MAC, mac],
  [Operation.MACVerify, macVerify],
  [Operation.Hash, hash],
  [Operation.RNGRetrieve, rngRetrieve],
  [Operation.RNGSeed, rngSeed],
  [Operation.DeriveKey, deriveKey],
  [Operation.CreateSplitKey, createSplitKey],
  [Operation.JoinSplitKey, joinSplitKey],
  [Operation.Certify, certify],
  [Operation.ReCertify, recertify],
  [Operation.Import, importObject],
  [Operation.Export, exportObject],
  [Operation.Validate, validate],
]);
