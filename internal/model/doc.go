// Package model holds the validated, defaulted cluster description that every later stage reads.
package model
