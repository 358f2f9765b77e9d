# The rule library is installed for users to import.
rulesdir = $(pkgdatadir)/rules
dist_rules_DATA = $(RULE_FILES)
