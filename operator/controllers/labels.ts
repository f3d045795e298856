/**
 * The labels, annotations and finalizers by which the operator marks what it owns.
 */
export const MANAGED_BY_LABELS = { 'app.kubernetes.io/managed-by': 'kube-kmip-operator' } as const;

/** On a credential's Secret: the credential's uid (names can exceed the 63 characters a label value allows). */
export const CREDENTIAL_UID_LABEL = 'kubekmip.io/credential-uid';
/** On a credential's Secret: "namespace/name" of the credential. */
export const CREDENTIAL_ANNOTATION = 'kubekmip.io/credential';
/** On a credential's Secret: serial number of the certificate it holds. */
export const SERIAL_ANNOTATION = 'kubekmip.io/serial-number';
/** On a credential's Secret: digest of everything the certificate was issued from (reissue when it changes). */
export const ISSUANCE_ANNOTATION = 'kubekmip.io/issuance';
/** On a credential's Secret: the certificate replaced by the last renewal, still accepted until it expires. */
export const PREVIOUS_SERIAL_ANNOTATION = 'kubekmip.io/previous-serial-number';
export const PREVIOUS_NOT_AFTER_ANNOTATION = 'kubekmip.io/previous-not-after';
/** With the previous serial: that certificate's SHA-256 fingerprint (status.certificateFingerprints binds the serial to it). */
export const PREVIOUS_FINGERPRINT_ANNOTATION = 'kubekmip.io/previous-fingerprint';
/** On a credential's Secret: the serial the rollout restart targets were last restarted for. */
export const RESTARTED_FOR_ANNOTATION = 'kubekmip.io/restarted-for';

export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/** Withdraws a credential's certificate from status before the credential goes. */
export const CREDENTIAL_FINALIZER = 'kubekmip.io/credential-revocation';
/** Holds a scope's deletion while it still has managed objects (deletionPolicy Retain). */
export const SCOPE_FINALIZER = 'kubekmip.io/scope-objects';
