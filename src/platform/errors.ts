// One error type for every expected failure. The set of codes is closed and each code maps to one
// HTTP status here, once; clients branch on `code`, never on the message. A business rejection
// puts the values involved in `details` (which rule failed, what was required, what was found).

type ErrorSpec = { status: number; title: string; description: string };

export const ERROR_CODES = {
  VALIDATION_FAILED: {
    status: 400,
    title: 'Validation failed',
    description: 'The request did not match the schema; `errors` lists each field and why.',
  },
  BAD_REQUEST: {
    status: 400,
    title: 'Bad request',
    description:
      'The request could not be read: malformed or empty JSON, a URL that is not validly %-encoded, or invalid HTTP (e.g. Content-Length with Transfer-Encoding).',
  },
  IDEMPOTENCY_KEY_INVALID: {
    status: 400,
    title: 'Invalid Idempotency-Key',
    description: 'The Idempotency-Key header must be 1-255 printable ASCII characters.',
  },
  IDEMPOTENCY_KEY_REQUIRED: {
    status: 400,
    title: 'Idempotency-Key required',
    description: 'This write moves value and must carry an Idempotency-Key header so that a retry cannot apply it twice.',
  },
  UNAUTHENTICATED: {
    status: 401,
    title: 'Unauthenticated',
    description: 'No credentials, or credentials that are unknown, revoked or malformed.',
  },
  FORBIDDEN: { status: 403, title: 'Forbidden', description: 'The credentials are valid but do not allow this action.' },
  TENANT_SUSPENDED: {
    status: 403,
    title: 'Tenant suspended',
    description: 'The tenant is suspended or closed; its API keys cannot be used.',
  },
  NOT_FOUND: {
    status: 404,
    title: 'Not found',
    description: 'The resource or route does not exist (or belongs to another tenant).',
  },
  CONFLICT: {
    status: 409,
    title: 'Conflict',
    description: 'The request conflicts with the current state, e.g. a unique value that already exists.',
  },
  IDEMPOTENCY_IN_FLIGHT: {
    status: 409,
    title: 'Request with this Idempotency-Key in progress',
    description: 'A request with the same Idempotency-Key is still being processed. Retry after it completes.',
  },
  REQUEST_TIMEOUT: {
    status: 408,
    title: 'Request timeout',
    description: 'The request was not received completely in time; the connection is closed.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large', description: 'The request body exceeds the size limit.' },
  URI_TOO_LONG: {
    status: 414,
    title: 'URI too long',
    description: 'The request line, or one path parameter, is longer than the server accepts.',
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    title: 'Request headers too large',
    description: 'The request headers are larger than the server accepts; the connection is closed.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'Unsupported media type',
    description: 'Request bodies must be application/json in UTF-8 (or the type a route documents, such as text/csv).',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    title: 'Idempotency-Key reused with a different request',
    description: 'The Idempotency-Key was already used for a request with a different method, path or body.',
  },
  TRANSACTION_ID_CONFLICT: {
    status: 409,
    title: 'Transaction id already used for other content',
    description:
      'A ledger transaction with this id was already submitted with different legs, code, reference, memo or event time.',
  },
  INSUFFICIENT_BALANCE: {
    status: 422,
    title: 'Insufficient balance',
    description:
      'A debit would take an account below what it holds (holds included); `details` gives the account, amount and available balance.',
  },
  CREDIT_LIMIT_EXCEEDED: {
    status: 422,
    title: 'Credit limit exceeded',
    description: 'A credit would take an account whose credits must not exceed its debits past that limit.',
  },
  ACCOUNT_NOT_FOUND: {
    status: 422,
    title: 'Account not found',
    description: 'A leg names a ledger account that does not exist.',
  },
  ACCOUNT_NOT_ACTIVE: { status: 422, title: 'Account not active', description: 'A leg names a frozen or closed ledger account.' },
  LEDGER_MISMATCH: {
    status: 422,
    title: 'Ledger mismatch',
    description: 'A leg moves value between accounts of different ledgers (currencies), or names the wrong ledger.',
  },
  HOLD_NOT_FOUND: { status: 422, title: 'Hold not found', description: 'No pending hold has this id.' },
  HOLD_NOT_PENDING: {
    status: 422,
    title: 'Hold already resolved',
    description: 'The hold was already captured, voided or expired; a hold resolves at most once.',
  },
  HOLD_EXPIRED: {
    status: 422,
    title: 'Hold expired',
    description: 'The hold timed out; its amount is released and it can no longer be captured.',
  },
  CAPTURE_EXCEEDS_HOLD: {
    status: 422,
    title: 'Capture exceeds hold',
    description: 'A captured amount is larger than the amount held on that leg.',
  },
  TRANSACTION_NOT_FOUND: { status: 422, title: 'Transaction not found', description: 'No ledger transaction has this id.' },
  NOT_REVERSIBLE: {
    status: 422,
    title: 'Not reversible',
    description: 'Only posted transfers and captures can be reversed (not holds, rejections or reversals).',
  },
  REVERSAL_EXCEEDS_ORIGINAL: {
    status: 422,
    title: 'Reversal exceeds the original',
    description: 'The reversals of a transaction can never add up to more than the transaction itself.',
  },
  NOTHING_TO_REVERSE: {
    status: 422,
    title: 'Nothing to reverse',
    description: 'The transaction has already been fully reversed.',
  },
  NOTHING_TO_EXPIRE: { status: 422, title: 'Nothing to expire', description: 'The account has no lot due by the cutoff.' },
  VERIFICATION_QUOTA_EXHAUSTED: {
    status: 422,
    title: 'No verification units left',
    description:
      'A live identity verification needs one VERIFICATION unit; the tenant has none available. Nobody was sent to the provider.',
  },
  VERIFICATION_NOT_PENDING: {
    status: 409,
    title: 'Verification request used or expired',
    description: 'The verification request number was already used, or its time ran out. Start a new verification.',
  },
  VERIFICATION_NOT_USABLE: {
    status: 422,
    title: 'Verification cannot be used',
    description:
      'The verification is not complete, was made for another purpose, is a preview, was already used, or is older than 30 minutes; `details.why` says which.',
  },
  VERIFICATION_REQUIRED: {
    status: 422,
    title: 'Identity verification required',
    description: 'The brand requires identity verification (본인확인) for this step: send a verificationId.',
  },
  ALREADY_MEMBER: {
    status: 409,
    title: 'Already a member',
    description: 'This person (or this name and phone) already has an account with the brand; use find ID or reset the password.',
  },
  REJOIN_BLOCKED: {
    status: 422,
    title: 'Re-sign-up blocked',
    description: 'This person withdrew recently; the brand blocks a new sign-up until `details.blockedUntil`.',
  },
  LOGIN_ID_TAKEN: { status: 409, title: 'Login ID taken', description: 'Another member of the brand uses this login ID.' },
  CONSENT_REQUIRED: {
    status: 422,
    title: 'Consent required',
    description:
      'The terms, the privacy policy and the age-14 confirmation must be accepted; `details.missing` lists what was not.',
  },
  INVALID_CREDENTIALS: {
    status: 401,
    title: 'Invalid credentials',
    description:
      'The login ID and password, or a second-factor code, do not match (the same answer whether or not the account exists, and for an operator whether or not it is locked).',
  },
  LOGIN_LOCKED: {
    status: 423,
    title: 'Login temporarily locked',
    description:
      'Too many wrong passwords in a row; login works again after `details.retryAfterSeconds` (or at once after a password reset).',
  },
  MEMBER_DORMANT: {
    status: 403,
    title: 'Dormant account',
    description: 'The account is dormant after a long time without use; reactivate it with an identity verification.',
  },
  MEMBER_NOT_ACTIVE: { status: 403, title: 'Member not active', description: 'The member has withdrawn or is dormant.' },
  SOCIAL_STATE_INVALID: {
    status: 422,
    title: 'SNS login state invalid',
    description:
      'The OAuth state is unknown, expired (10 minutes), already used, or was issued for another provider, intent or member. Start again.',
  },
  SOCIAL_CODE_INVALID: {
    status: 422,
    title: 'SNS authorization code invalid',
    description: 'The provider did not accept the authorization code (unknown, used or expired).',
  },
  SOCIAL_DENIED: { status: 422, title: 'SNS login not approved', description: 'The person declined on the provider’s page.' },
  SOCIAL_PROVIDER_ERROR: {
    status: 502,
    title: 'SNS provider error',
    description:
      'The SNS login provider could not be reached, refused our client credentials or answered something unusable; try again later.',
  },
  SOCIAL_NOT_LINKED: {
    status: 404,
    title: 'SNS account not linked',
    description:
      'No member is linked to this SNS account. Sign up, or log in and link it; accounts are never linked by a matching e-mail.',
  },
  SOCIAL_ALREADY_LINKED: {
    status: 409,
    title: 'SNS account already linked',
    description: 'This SNS account is linked to a member already, or the member already has a link with this provider.',
  },
  SOCIAL_LAST_LOGIN_METHOD: {
    status: 422,
    title: 'Last way to log in',
    description: 'Unlinking would leave the member with no way to log in (no password and no other SNS link).',
  },
  PHONE_NOT_OWN_NAME: {
    status: 422,
    title: 'Phone not in the person’s own name',
    description:
      'The phone line belongs to someone else (e.g. a family plan); the person must verify with a phone in their own name or i-PIN.',
  },
  CORPORATE_PHONE: {
    status: 422,
    title: 'Corporate phone',
    description: 'The phone line is registered to a company; personal verification is not possible with it.',
  },
  PREPAID_PHONE: {
    status: 422,
    title: 'Prepaid phone',
    description: 'Prepaid phone lines are not accepted for identity verification.',
  },
  UNDER_AGE: {
    status: 422,
    title: 'Under the minimum age',
    description: 'The verified person is younger than the minimum age; `details` gives both ages.',
  },
  VERIFICATION_CANCELLED: {
    status: 422,
    title: 'Verification cancelled',
    description: 'The person cancelled on the provider’s page.',
  },
  VERIFICATION_TIMED_OUT: {
    status: 422,
    title: 'Verification timed out',
    description: 'The person did not finish on the provider’s page in time.',
  },
  PROVIDER_ERROR: {
    status: 502,
    title: 'Identity provider error',
    description: 'The identity verification provider failed; the person can try again.',
  },
  CANCEL_ID_USED: {
    status: 409,
    title: 'Cancel id used',
    description:
      'This `cancelId` names a cancel made already (whatever the Idempotency-Key); `details.operationId` is that cancel and `details.originalId` what it cancelled. A retry of the same request with its Idempotency-Key gets the first answer; another cancel needs another id.',
  },
  ORDER_ALREADY_PROCESSED: {
    status: 409,
    title: 'Order already processed',
    description:
      'This order already has its earning or use (whatever the Idempotency-Key); `details.operationId` names it. Cancel it, or use another order number.',
  },
  INSUFFICIENT_POINTS: {
    status: 422,
    title: 'Not enough points',
    description: 'The member holds fewer points than asked; `details` gives both.',
  },
  BELOW_MINIMUM_USE: {
    status: 422,
    title: 'Below the minimum balance to use',
    description: 'The brand lets points be used only from a minimum balance; `details` gives the minimum and the balance.',
  },
  POINTS_USE_UNIT: {
    status: 422,
    title: 'Not a multiple of the use unit',
    description: 'Points are used in multiples of the policy’s unit (e.g. 10).',
  },
  POINTS_MAX_USE_EXCEEDED: {
    status: 422,
    title: 'Above the maximum use',
    description:
      'More points than the policy allows on one order (a fixed maximum or a share of the order amount); `details.maximum` is what is allowed.',
  },
  POINTS_CHANNEL_NOT_ALLOWED: {
    status: 422,
    title: 'Channel not allowed',
    description: 'The point policy does not allow this operation in this channel.',
  },
  OPERATION_NOT_CANCELLABLE: {
    status: 422,
    title: 'Not cancellable',
    description:
      'The operation cannot be cancelled: it is not an earning, use or charge, belongs to another member or card, or was cancelled in full; `details.why` says which.',
  },
  CARD_NOT_ACTIVE: {
    status: 422,
    title: 'Card not active',
    description: 'The prepaid card is lost, suspended or refunded; `details.status` says which.',
  },
  INSUFFICIENT_PREPAID: {
    status: 422,
    title: 'Not enough prepaid balance',
    description: 'The card holds less than asked; `details` gives both.',
  },
  PREPAID_LIMIT_EXCEEDED: {
    status: 422,
    title: 'Charge limit',
    description: 'The charge is below the minimum or would take the card above the maximum balance; `details` gives the limits.',
  },
  PAYMENT_DECLINED: {
    status: 422,
    title: 'Payment declined',
    description: 'The payment provider declined the charge; nothing was charged. `details.reason` is the provider’s.',
  },
  PAYMENT_PROVIDER_ERROR: {
    status: 502,
    title: 'Payment provider error',
    description: 'The payment provider could not be reached or refused our credentials; nothing was credited. Retry later.',
  },
  CHARGE_CANCEL_WRONG_CHANNEL: {
    status: 422,
    title: 'Cancel in the channel of the charge',
    description:
      'A charge is cancelled only where it was made: an app charge in the app, a store charge at that store; `details` gives both.',
  },
  REFUND_NOT_ALLOWED: {
    status: 422,
    title: 'Refund not allowed yet',
    description: 'The refund policy needs a share of the last charge used first; `details.amountStillToUse` says how much more.',
  },
  CARD_PIN_INVALID: {
    status: 422,
    title: 'Card number or PIN wrong',
    description: 'No unregistered physical card has this number and PIN (the same answer either way).',
  },
  CARD_PIN_LOCKED: {
    status: 423,
    title: 'Card registration locked',
    description:
      'Too many wrong PINs in a row: for this card number, until the brand unlocks it; or by this member, until `details.retryAfterSeconds`.',
  },
  COUPON_ALREADY_USED: {
    status: 422,
    title: 'Coupon already used',
    description: 'The coupon has been used; a coupon is used once.',
  },
  COUPON_REVOKED: {
    status: 422,
    title: 'Coupon taken back',
    description: 'The coupon was taken back (for instance, the charge that earned it was cancelled).',
  },
  COUPON_NOT_ACTIVE: {
    status: 422,
    title: 'Coupon campaign not active',
    description: 'The coupon definition is paused or ended; `details.status` says which.',
  },
  COUPON_EXPIRED: { status: 422, title: 'Coupon expired', description: 'The coupon’s validity ended at `details.validUntil`.' },
  COUPON_NOT_YET_VALID: {
    status: 422,
    title: 'Coupon not valid yet',
    description: 'The coupon is valid from `details.validFrom`.',
  },
  COUPON_MEMBER_USE_LIMIT: {
    status: 422,
    title: 'Coupon use limit',
    description: 'The member has used as many coupons of this definition as allowed (`details.usesPerMember`).',
  },
  COUPON_GRADE_NOT_ELIGIBLE: {
    status: 422,
    title: 'Grade not eligible',
    description: 'The coupon is for other grades; `details` gives the member’s grade and the allowed ones.',
  },
  COUPON_WRONG_CHANNEL: {
    status: 422,
    title: 'Wrong channel',
    description: 'The coupon is not used in this channel; `details.channels` lists where it is.',
  },
  COUPON_WRONG_SERVICE_TYPE: {
    status: 422,
    title: 'Wrong service type',
    description: 'The coupon is for other service types (pickup, in store, delivery, parcel).',
  },
  COUPON_STORE_NOT_ELIGIBLE: {
    status: 422,
    title: 'Store not eligible',
    description: 'The store does not take this coupon; `details.stores` lists the ones that do.',
  },
  COUPON_REGION_NOT_ELIGIBLE: {
    status: 422,
    title: 'Region not eligible',
    description: 'The coupon is for stores in other regions.',
  },
  COUPON_OUTSIDE_HOURS: {
    status: 422,
    title: 'Outside the coupon’s hours',
    description: 'The coupon is usable on other weekdays or at other times (tenant time zone); `details` gives both.',
  },
  COUPON_MIN_ORDER: {
    status: 422,
    title: 'Below the minimum order',
    description: 'The order is below the coupon’s minimum; `details.missing` is how much more is needed.',
  },
  COUPON_CONDITION_PRODUCTS: {
    status: 422,
    title: 'Condition products missing',
    description: 'The order has none of the products the coupon needs.',
  },
  COUPON_NO_EFFECT: {
    status: 422,
    title: 'Coupon has no effect',
    description: 'The order has nothing for the coupon to take off (its product, its target products or a delivery fee).',
  },
  COUPON_EXHAUSTED: {
    status: 422,
    title: 'All coupons issued',
    description: 'The first-come quantity is all issued (`details.totalQuantity`).',
  },
  COUPON_MEMBER_LIMIT: {
    status: 422,
    title: 'Issue limit per member',
    description: 'The member holds as many of these coupons as one member may be issued (`details.perMemberLimit`).',
  },
  COUPON_NOT_DOWNLOADABLE: { status: 422, title: 'Not downloadable', description: 'This coupon is not offered for download.' },
  COUPON_NOT_ISSUING: { status: 422, title: 'Not issuing', description: 'The coupon is outside its issue period or not active.' },
  COUPON_PIN_INVALID: { status: 422, title: 'PIN not valid', description: 'No unregistered coupon PIN matches.' },
  COUPON_NOT_GIFTABLE: {
    status: 422,
    title: 'Not giftable',
    description: 'This coupon cannot be given to another member, or is not active.',
  },
  COUPON_HELD: {
    status: 422,
    title: 'Coupon held',
    description: 'The coupon is held for a payment in progress until `details.heldUntil`; only that checkout can use it.',
  },
  COUPON_NOT_STACKABLE: {
    status: 422,
    title: 'Coupons do not combine',
    description: 'An exclusive coupon is used alone, and one coupon per definition per order; `details` names the coupons.',
  },
  CHECKOUT_EXCEEDS_TOTAL: {
    status: 422,
    title: 'More than the order',
    description: 'Coupons, points and prepaid together exceed the order amount; `details` gives each part.',
  },
  STAMP_NOT_ELIGIBLE: {
    status: 422,
    title: 'Not eligible for stamps',
    description:
      'The stamp card’s earning policy does not cover this order; `details.rule` names the rule (channel, store, grade, minimum amount, …).',
  },
  STAMP_DAILY_LIMIT: {
    status: 422,
    title: 'Daily stamp limit reached',
    description: 'The member has earned the card’s maximum stamps for today; `details` gives the limit.',
  },
  STAMP_CARD_NOT_ACTIVE: {
    status: 422,
    title: 'Stamp card not active',
    description: 'The stamp card is outside its issue period, paused, or its boards are complete.',
  },
  STORE_NOT_ACTIVE: { status: 422, title: 'Store not active', description: 'The store is closed or paused.' },
  NOT_STORE_MANAGER: {
    status: 403,
    title: 'Not a manager of this store',
    description: 'The store manager is not registered to the store, or the store has no registered manager.',
  },
  DEVICE_ALREADY_REGISTERED: {
    status: 409,
    title: 'Device already registered',
    description: 'A stamp device is registered to exactly one store; `details.storeId` is its store.',
  },
  OTP_INVALID: {
    status: 422,
    title: 'OTP code wrong',
    description:
      'No live code matches: it is wrong, was used already, or was cancelled. Wrong codes are limited per manager and per store.',
  },
  OTP_EXPIRED: {
    status: 422,
    title: 'OTP code expired',
    description: 'The code was valid for a few minutes only; the member issues a new one.',
  },
  BARCODE_EXPIRED: {
    status: 422,
    title: 'Barcode expired',
    description:
      'The member app’s code is good for one scan within 60 seconds of its issue (`details.expiredAt`); the member shows a new one.',
  },
  BARCODE_USED: {
    status: 422,
    title: 'Barcode used',
    description:
      'The member app’s code was scanned already (`details.usedAt`): each code identifies once. The member shows a new one.',
  },
  MEMBER_NOT_FOUND: {
    status: 404,
    title: 'Member not found',
    description:
      'No active member is found by this barcode, card number or phone (`details.by`): unknown, replaced by a newer code, or not registered. Misses are rate-limited.',
  },
  SECOND_FACTOR_REQUIRED: {
    status: 401,
    title: 'Second factor required',
    description:
      'The operator session has passed the password only: `details.stage` says what is due (`password`: a code or passkey; `enrol`: set up a second factor first).',
  },
  STEP_UP_REQUIRED: {
    status: 403,
    title: 'Recent second factor required',
    description:
      'Unmasking, exports and access changes need a second factor within the last `details.withinMinutes` minutes: POST /auth/step-up, then retry.',
  },
  CSRF_REJECTED: {
    status: 403,
    title: 'Cross-site request refused',
    description: 'A state-changing request with an operator session cookie must come from the same origin (`Origin`) as JSON.',
  },
  TLS_REQUIRED: {
    status: 403,
    title: 'HTTPS required',
    description: 'Operator sessions use Secure cookies: serve the console over HTTPS (plain HTTP works on loopback only).',
  },
  INVITATION_NOT_USABLE: {
    status: 410,
    title: 'Invitation not usable',
    description: 'The invitation was accepted, revoked or has expired (`details.reason`); ask for a new one.',
  },
  RECOVERY_LINK_NOT_USABLE: {
    status: 410,
    title: 'Recovery link not usable',
    description: 'The emergency recovery link is unknown, was used or replaced, or is older than 30 minutes; ask for a new one.',
  },
  EMAIL_LINK_NOT_USABLE: {
    status: 410,
    title: 'E-mail confirmation link not usable',
    description:
      'The link that confirms a member’s new e-mail is unknown, was used or replaced by a newer change, is older than 24 hours, or belongs to another member; change the e-mail again.',
  },
  PASSWORD_REJECTED: {
    status: 422,
    title: 'Password not allowed',
    description:
      'The new password breaks a rule (`details.reason`: too_short, too_long, breached, contains_email, repetitive). Any characters are allowed; length counts.',
  },
  LAST_OWNER: {
    status: 409,
    title: 'Last owner',
    description: 'The tenant must keep at least one active owner: make another operator owner first.',
  },
  OPERATOR_SUSPENDED: {
    status: 403,
    title: 'Operator suspended',
    description: 'This operator account is suspended; an admin of the brand can reactivate it.',
  },
  PASSKEY_REJECTED: {
    status: 422,
    title: 'Passkey not registered',
    description:
      'The authenticator’s answer could not be verified (`details.reason`: challenge — missing, used or expired; verification — wrong origin, no user verification or a bad attestation; registered — the passkey is registered already).',
  },
  ACCESS_REASON_REQUIRED: {
    status: 400,
    title: 'Reason required',
    description:
      'Unmasking personal data, exporting it and downloading an export need a reason of at least 5 characters; nothing was shown or logged.',
  },
  WEBHOOK_URL_NOT_ALLOWED: {
    status: 400,
    title: 'Webhook URL not allowed',
    description:
      'A webhook endpoint must be an https:// URL whose host resolves only to public addresses (not loopback, private, link-local, CGNAT, multicast or reserved); `errors` names the field and `details` the address refused.',
  },
  RATE_LIMITED: { status: 429, title: 'Too many requests', description: 'Slow down and retry after the indicated time.' },
  INTERNAL: {
    status: 500,
    title: 'Internal error',
    description: 'An unexpected error. It was logged with the request id; the message is not exposed.',
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    title: 'Service unavailable',
    description: 'The server is starting, shutting down, or cannot reach its database. Retry shortly.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One failed field of a request. `field` is a dotted path such as `body.items.0.quantity`. */
export type FieldError = { field: string; message: string; code: string };

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly errors: FieldError[] | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, errors?: FieldError[]) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = details;
    this.errors = errors;
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;

/** A rejection of one field, for rules a schema cannot express (e.g. a check digit). */
/** A cancel whose id names a cancel made already (of this or of another operation). */
export function cancelIdUsed(operationId: string, originalId: string | null): AppError {
  return new AppError('CANCEL_ID_USED', `The cancel ${operationId} was made already: use another cancelId.`, {
    operationId,
    originalId,
  });
}

export function fieldError(field: string, message: string, code = 'invalid'): AppError {
  return new AppError('VALIDATION_FAILED', `${field}: ${message}`, undefined, [{ field, message, code }]);
}

export type Problem = {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  requestId?: string;
  errors?: FieldError[];
  details?: Record<string, unknown>;
};

export const problemType = (code: ErrorCode): string => `/problems/${code}`;

export function toProblem(err: AppError, instance?: string, requestId?: string): Problem {
  const spec = ERROR_CODES[err.code];
  return {
    type: problemType(err.code),
    title: spec.title,
    status: spec.status,
    code: err.code,
    detail: err.message,
    ...(instance ? { instance } : {}),
    ...(requestId ? { requestId } : {}),
    ...(err.errors ? { errors: err.errors } : {}),
    ...(err.details ? { details: err.details } : {}),
  };
}

type PgError = { code?: unknown; constraint?: unknown; detail?: unknown; table?: unknown; message?: unknown };

// The connection failed, not the statement: the server restarts, the backend was terminated, the
// network or the pool's connect timeout cut in. Node reports socket errors in `code`; pg and
// pg-pool report a lost connection by message only (the server's own codes are in the switch below).
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const CONNECTION_LOST =
  /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect)/;

function isConnectionFailure({ code, message }: PgError): boolean {
  // Class 08 in full (connection exception: unable to connect, rejected, protocol violation, …).
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  return typeof message === 'string' && CONNECTION_LOST.test(message);
}

/**
 * PostgreSQL errors that are the caller's fault or a transient state, mapped once for the whole
 * product (both pg and PGlite report SQLSTATE in `code`). Anything else stays a bug (500).
 */
export function fromDatabaseError(err: unknown): AppError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, constraint } = err as PgError;
  if (isConnectionFailure(err as PgError))
    return new AppError('SERVICE_UNAVAILABLE', 'The database is not available; retry shortly.');
  if (typeof code !== 'string' || code.length !== 5) return undefined;
  const where = typeof constraint === 'string' ? { constraint } : undefined;
  switch (code) {
    case '23505':
      return new AppError('CONFLICT', 'A record with the same unique value already exists.', where);
    case '23503':
      return new AppError('CONFLICT', 'The record refers to, or is referred to by, a record that does not exist.', where);
    case '23514':
    case '23502':
      return new AppError('VALIDATION_FAILED', 'The record breaks a rule of the data model.', where);
    case '22P02':
    case '22003':
    // Backstops for what the HTTP layer already rejects: a date out of range, a NUL in text.
    case '22007':
    case '22008':
    case '22021':
      return new AppError('VALIDATION_FAILED', 'A value is out of range or of the wrong form.');
    case '40001':
    case '40P01':
    case '55P03':
      return new AppError('CONFLICT', 'The record is being changed by another request; retry.', { retryable: true });
    case '57P01':
    case '57P02':
    case '57P03':
    case '08000':
    case '08003':
    case '08006':
      return new AppError('SERVICE_UNAVAILABLE', 'The database is not available; retry shortly.');
    default:
      return undefined;
  }
}
