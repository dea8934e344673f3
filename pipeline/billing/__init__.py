"""Accounting as the provider bills it: the billing file (`config`), deduction in
Huawei's order over the usage ledger (`deduction`), package states and renewal
(`lifecycle`), and `ocrpipe billing status` (`status`)."""
