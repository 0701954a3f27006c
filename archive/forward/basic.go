package forward

import (
	"strings"

	"github.com/archivist-project/archivist/archive/redact"
	"github.com/archivist-project/archivist/archive/remote"
)

// BasicProblems says what is wrong with a Basic-authenticated destination: it has no name,
// or its credential pair, whose fields are named as given, has an empty user or one holding
// ":" (which would end it early), or an empty secret.
func BasicProblems(name, user, userField, secret, secretField string) []string {
	var problems []string
	if name == "" {
		problems = append(problems, "name is empty")
	}
	if user == "" || strings.Contains(user, ":") {
		problems = append(problems, userField+" is empty or contains \":\"")
	}
	if secret == "" {
		problems = append(problems, secretField+" is empty")
	}
	return problems
}

// RedactBasic registers a Basic credential pair with package redact, the secret and its
// Basic encoding, so that no answer echoes it in any form. Call it before any request.
func RedactBasic(user, secret string) {
	redact.Secret(secret)
	redact.Credential(remote.BasicCredential(user, secret))
}
