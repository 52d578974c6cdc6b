"""The collection strategy's functional core: the playbook as data, what to ask for and when."""
