/*
 * winpop-pam: checks one OS account's password through PAM, for the
 * "System accounts" authentication method.
 *
 * Why a separate process rather than an in-process binding: a PAM stack may
 * sleep (pam_faildelay, pam_unix's fail delay) or hang (a network module), and
 * a process can be killed at the service's timeout where a libuv worker thread
 * cannot; a crashing module takes this process down, not the service; and the
 * privilege PAM needs to check other users' passwords can be given to this
 * program's caller without changing the service.
 *
 * Usage: winpop-pam SERVICE UID_MIN UID_MAX TIMEOUT_SECONDS
 * Standard input: USER NUL PASSWORD NUL (at most 4096 bytes in all).
 * Standard output: one line, "ok", "bad DETAIL" or "unavailable DETAIL".
 * Exit status: 0 ok, 1 bad (wrong password, unknown user, refused or locked
 * or expired account), 2 unavailable (PAM could not answer), 3 usage.
 */

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define EXIT_OK 0
#define EXIT_BAD 1
#define EXIT_UNAVAILABLE 2
#define EXIT_USAGE 3

#ifndef PAM_MAX_NUM_MSG
#define PAM_MAX_NUM_MSG 32 /* OpenPAM (macOS) may not define it */
#endif

#define INPUT_MAX 4096
#define USER_MAX 32

struct conversation_data {
  const char *password;
  int password_given;
  char note[256];
};

static int finish(int status, const char *verdict, const char *detail) {
  if (detail && *detail) printf("%s %s\n", verdict, detail);
  else printf("%s\n", verdict);
  fflush(stdout);
  return status;
}

/* The same rule as the service's (os-user-name.ts): lower-case letters, digits, '.', '_', '-', a letter or '_' first, no "..". */
static int valid_user(const char *user) {
  size_t n = strlen(user);
  if (n == 0 || n > USER_MAX) return 0;
  if (!((user[0] >= 'a' && user[0] <= 'z') || user[0] == '_')) return 0;
  if (strstr(user, "..")) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = user[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return 0;
  }
  return 1;
}

/* Answers the password prompt once; a stack that asks anything else (a second factor, a user name) gets no answer. */
static int converse(int count, const struct pam_message **messages, struct pam_response **responses, void *data_ptr) {
  struct conversation_data *data = data_ptr;
  if (count <= 0 || count > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
  struct pam_response *replies = calloc((size_t)count, sizeof *replies);
  if (!replies) return PAM_BUF_ERR;
  for (int i = 0; i < count; i++) {
    const struct pam_message *m = messages[i];
    switch (m->msg_style) {
      case PAM_PROMPT_ECHO_OFF:
        if (data->password_given) goto refuse;
        replies[i].resp = strdup(data->password);
        if (!replies[i].resp) goto refuse;
        data->password_given = 1;
        break;
      case PAM_ERROR_MSG:
      case PAM_TEXT_INFO:
        if (m->msg && !data->note[0]) snprintf(data->note, sizeof data->note, "%s", m->msg);
        break;
      default:
        goto refuse;
    }
  }
  *responses = replies;
  return PAM_SUCCESS;
refuse:
  for (int i = 0; i < count; i++) {
    if (replies[i].resp) {
      memset(replies[i].resp, 0, strlen(replies[i].resp));
      free(replies[i].resp);
    }
  }
  free(replies);
  return PAM_CONV_ERR;
}

/* Results that mean "this user may not log in with this password"; anything else means PAM could not answer. */
static int is_refusal(int code) {
  switch (code) {
    case PAM_AUTH_ERR:
    case PAM_USER_UNKNOWN:
    case PAM_MAXTRIES:
    case PAM_PERM_DENIED:
    case PAM_ACCT_EXPIRED:
    case PAM_NEW_AUTHTOK_REQD:
    case PAM_CRED_INSUFFICIENT:
    case PAM_CONV_ERR:
      return 1;
    default:
      return 0;
  }
}

/* Sleeps as long as a failed PAM attempt usually takes (pam_unix's 2 s fail delay, +-25%), so that a refused account answers like a wrong password. */
static void failure_delay(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  srand((unsigned)(now.tv_nsec ^ getpid()));
  long micros = 1500000L + (long)(rand() % 1000000);
  struct timespec delay = { micros / 1000000L, (micros % 1000000L) * 1000L };
  while (nanosleep(&delay, &delay) == -1 && errno == EINTR) {
  }
}

static long number_arg(const char *text, long min, long max) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno || !end || *end || end == text || value < min || value > max) return -1;
  return value;
}

int main(int argc, char **argv) {
  if (argc != 5) return finish(EXIT_USAGE, "unavailable", "usage: winpop-pam SERVICE UID_MIN UID_MAX TIMEOUT_SECONDS");
  const char *service = argv[1];
  long uid_min = number_arg(argv[2], 0, 0x7fffffffL);
  long uid_max = number_arg(argv[3], 0, 0x7fffffffL);
  long timeout = number_arg(argv[4], 1, 3600);
  if (!*service || strchr(service, '/') || uid_min < 0 || uid_max < 0 || timeout < 0) {
    return finish(EXIT_USAGE, "unavailable", "bad arguments");
  }
  /* A backstop for the service's own timeout: whatever PAM does, this process ends. */
  alarm((unsigned)timeout);

  static char input[INPUT_MAX + 1];
  size_t length = 0;
  for (;;) {
    ssize_t got = read(STDIN_FILENO, input + length, INPUT_MAX - length);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return finish(EXIT_USAGE, "unavailable", "cannot read standard input");
    if (got == 0) break;
    length += (size_t)got;
    if (length == INPUT_MAX) return finish(EXIT_USAGE, "unavailable", "input too long");
  }
  input[length] = '\0';
  const char *user = input;
  size_t user_length = strnlen(input, length);
  if (user_length >= length) return finish(EXIT_USAGE, "unavailable", "expected USER NUL PASSWORD NUL");
  const char *password = input + user_length + 1;
  size_t password_length = strnlen(password, length - user_length - 1);
  if (user_length + 1 + password_length != length - 1) {
    return finish(EXIT_USAGE, "unavailable", "expected USER NUL PASSWORD NUL");
  }
  if (!valid_user(user)) return finish(EXIT_BAD, "bad", "not a valid user name");

  struct passwd *account = getpwnam(user);
  if (account && ((long)account->pw_uid < uid_min || (long)account->pw_uid > uid_max)) {
    char detail[128];
    snprintf(detail, sizeof detail, "uid %ld is outside the log-in range %ld-%ld", (long)account->pw_uid, uid_min, uid_max);
    failure_delay();
    memset(input, 0, sizeof input);
    return finish(EXIT_BAD, "bad", detail);
  }

  struct conversation_data data = { password, 0, "" };
  struct pam_conv conversation = { converse, &data };
  pam_handle_t *pamh = NULL;
  int code = pam_start(service, user, &conversation, &pamh);
  if (code != PAM_SUCCESS) {
    memset(input, 0, sizeof input);
    return finish(EXIT_UNAVAILABLE, "unavailable", "pam_start failed");
  }
  const char *step = "pam_authenticate";
  code = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  if (code == PAM_SUCCESS) {
    step = "pam_acct_mgmt";
    code = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  }
  char detail[512];
  snprintf(detail, sizeof detail, "%s: %s (%d)%s%s", step, pam_strerror(pamh, code), code, data.note[0] ? "; " : "", data.note);
  for (char *p = detail; *p; p++) {
    if (*p == '\n' || *p == '\r') *p = ' ';
  }
  pam_end(pamh, code);
  memset(input, 0, sizeof input);
  if (code == PAM_SUCCESS) return finish(EXIT_OK, "ok", NULL);
  return finish(is_refusal(code) ? EXIT_BAD : EXIT_UNAVAILABLE, is_refusal(code) ? "bad" : "unavailable", detail);
}
