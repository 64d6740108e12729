package com.billpay.ledger;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** Entry point of ledger-sync: Reconciles the payment ledger with the bank statements every night. */
@SpringBootApplication
public class LedgerSyncApplication {

    public static void main(String[] args) {
        SpringApplication.run(LedgerSyncApplication.class, args);
    }
}
